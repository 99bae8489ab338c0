// Issue 8 item 7: the embedded PostgreSQL listens on a loopback TCP port, so its superuser has a random
// password per data dir (kept in the data dir, 0600), not the fixed one every install used to share.
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { PostgresProcess, startPostgresProcess } from '@tessera/testing/embedded-postgres-process';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { distPath, repoRoot } from '@tessera/testing/paths';
import { PASSWORD_FILE } from './embedded-postgres.server';

const OLD_FIXED_URL = (port: number) => `postgres://tessera:tessera@127.0.0.1:${port}/postgres`;

async function query(url: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/** The SQLSTATE of a failed log-in (28P01: password authentication failed). */
async function loginError(url: string): Promise<string | undefined> {
  const client = new Client({ connectionString: url });
  try {
    await client.connect();
    await client.end();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

let dataDir: string;
const running: PostgresProcess[] = [];
const start = async (whenRunning: 'restart' | 'share' = 'restart') => {
  const pg = await startPostgresProcess(dataDir, 0, whenRunning);
  running.push(pg);
  return pg;
};
const stopAll = async () => {
  for (const pg of running.splice(0).reverse()) await pg.stop();
};
const passwordFile = () => join(dataDir, PASSWORD_FILE);

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'tessera-pg-password-'));
});

afterEach(async () => {
  await stopAll();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('given a freshly created data dir', () => {
  it('then the old fixed password is refused, and the random one is in a file only its owner can read', async () => {
    const pg = await start();
    expect(await loginError(OLD_FIXED_URL(pg.port))).toBe('28P01');
    expect(statSync(passwordFile()).mode & 0o777).toBe(0o600);
    const password = readFileSync(passwordFile(), 'utf8').trim();
    expect(password).toMatch(/^[0-9a-f]{48}$/);
    expect(decodeURIComponent(new URL(pg.url).password)).toBe(password);
    expect(await query(pg.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    // initdb's password file went to a private temp folder inside the data dir, removed afterwards.
    expect(() => statSync(join(dataDir, '.initdb-tmp'))).toThrow();
  });

  it('when the server restarts, then it keeps the same password and the data', async () => {
    const first = await start();
    await query(first.url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
    const password = readFileSync(passwordFile(), 'utf8');
    await stopAll();
    const second = await start();
    expect(readFileSync(passwordFile(), 'utf8')).toBe(password);
    expect(await query(second.url, 'SELECT n FROM kept')).toEqual([{ n: 42 }]);
  });

  it('then commits are durable and full-page images go to the WAL uncompressed (pglz stalled the projector after checkpoints)', async () => {
    const pg = await start();
    const [settings] = await query(
      pg.url,
      `SELECT current_setting('synchronous_commit') AS sync, current_setting('fsync') AS fsync, current_setting('wal_compression') AS compression`,
    );
    expect(settings).toEqual({ sync: 'on', fsync: 'on', compression: 'off' });
  });

  it('when a second process (the CLI) shares the running server, then it finds the password and the server keeps running', async () => {
    const server = await start();
    const cli = await start('share');
    expect(cli.port).toBe(server.port);
    expect(await query(cli.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(await query(server.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});

describe('given a data dir made with the old fixed password (no password file)', () => {
  const makeLegacy = async () => {
    const pg = await start();
    await query(pg.url, `CREATE TABLE kept (n int); INSERT INTO kept VALUES (7); ALTER ROLE tessera PASSWORD 'tessera'`);
    await stopAll();
    unlinkSync(passwordFile());
  };

  it('when it starts, then the superuser moves to a new random password, written 0600, and the data stays', async () => {
    await makeLegacy();
    const pg = await start();
    expect(statSync(passwordFile()).mode & 0o777).toBe(0o600);
    expect(readFileSync(passwordFile(), 'utf8').trim()).toMatch(/^[0-9a-f]{48}$/);
    expect(await loginError(OLD_FIXED_URL(pg.port))).toBe('28P01');
    expect(await query(pg.url, 'SELECT n FROM kept')).toEqual([{ n: 7 }]);
    await stopAll();
    const again = await start();
    expect(await query(again.url, 'SELECT n FROM kept')).toEqual([{ n: 7 }]);
  });

  it('when the move was interrupted after the server took the new password, then the next start still gets in', async () => {
    await makeLegacy();
    // As if a start had written the pending password and altered the role, then died before the rename.
    const pg = await start();
    const moved = readFileSync(passwordFile(), 'utf8');
    await stopAll();
    renameSync(passwordFile(), `${passwordFile()}.pending`);
    const again = await start();
    expect(readFileSync(passwordFile(), 'utf8')).toBe(moved);
    expect(await query(again.url, 'SELECT n FROM kept')).toEqual([{ n: 7 }]);
    expect(await loginError(OLD_FIXED_URL(again.port))).toBe('28P01');
  });
});

// Issue 9 item 2: a second process never stops a live owner's server.
describe('given a server started by a live process', () => {
  it('when a second process starts on the data dir as a server, then it shares the running server and stopping it leaves that server up', async () => {
    const owner = await start();
    const second = await start();
    expect(second.port).toBe(owner.port);
    await second.stop();
    running.splice(running.indexOf(second), 1);
    expect(await query(owner.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('when the owner is the CLI (it stops its server after one command), then a server waits for it, then starts its own', async () => {
    const cli = await start('share'); // nothing ran: the CLI started PostgreSQL itself
    let serverStarted = false;
    const server = start().then((pg) => ((serverStarted = true), pg));
    await new Promise((r) => setTimeout(r, 2000));
    expect(serverStarted).toBe(false); // waiting, and the CLI's server was not stopped under it
    expect(await query(cli.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await cli.stop();
    running.splice(running.indexOf(cli), 1);
    const own = await server;
    expect(await query(own.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});

describe('given a port that was free when picked but is taken before PostgreSQL binds it', () => {
  it('then PostgreSQL starts on another port it picks, and says so', async () => {
    // In a child process (jest cannot load the embedded-postgres ES module): a socket holds the first pick.
    const script = `
      const net = require('node:net');
      const { startEmbeddedPostgres, freePort } = require(${JSON.stringify(distPath('libs/store/src/database/embedded-postgres.server.js'))});
      const holder = net.createServer();
      holder.listen(0, '127.0.0.1', async () => {
        const picked = [];
        const lines = [];
        const pickPort = async () => { picked.push(picked.length === 0 ? holder.address().port : await freePort()); return picked[picked.length - 1]; };
        const pg = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, pickPort, onLog: (l) => lines.push(l) });
        const { Client } = require('pg');
        const client = new Client({ connectionString: pg.url });
        await client.connect();
        const { rows } = await client.query('SELECT 1 AS one');
        await client.end();
        await pg.stop();
        holder.close();
        process.stdout.write(JSON.stringify({ picked, port: pg.port, rows, lines }));
      });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: repoRoot() });
    const { picked, port, rows, lines } = JSON.parse(stdout) as { picked: number[]; port: number; rows: unknown[]; lines: string[] };
    expect(picked).toHaveLength(2);
    expect(port).toBe(picked[1]);
    expect(rows).toEqual([{ one: 1 }]);
    expect(lines).toContain(`port ${picked[0]} was taken before PostgreSQL could bind it; trying another`);
  });
});
