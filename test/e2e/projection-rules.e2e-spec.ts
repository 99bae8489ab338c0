import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { RULES_VERSION } from '@tessera/identity';
import { createTestDatabase, TestDatabase } from '../support/database';
import { eventually, ProfilesClient, startSingleNode } from '../support/single-node-server';
import { freePort } from '../support/ports';

const MAIN = resolve(__dirname, '../../dist/apps/tessera/src/main.js');
const CLI = resolve(__dirname, '../../dist/apps/cli/src/main.js');

let db: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  db = await createTestDatabase('rules');
  dataDir = mkdtempSync(join(tmpdir(), 'tessera-rules-'));
});

afterAll(async () => {
  rmSync(dataDir, { recursive: true, force: true });
  await db.drop();
});

async function sql(text: string): Promise<Array<Record<string, unknown>>> {
  const c = new Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

/** The server on the test database, watched until it is live (it may never become ready). */
async function startLive() {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, DATABASE_URL: db.url, KAFKA_BROKERS: '', PORT: String(port), HOST: '127.0.0.1', TESSERA_DATA_DIR: dataDir, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await eventually(async () => ((await fetch(`${url}/health/live`).then((r) => r.ok, () => false)) && /private key/.test(out) ? true : undefined), 60_000, 100);
  return { url, output: () => out, stop: () => (child.kill('SIGTERM'), exited) };
}

describe('given projections built before rules were versioned (profiles, no projection_rules row)', () => {
  it('then a start warns once naming the replay command and /health/ready fails; after `replay` it is ready and stamped', async () => {
    const first = await startSingleNode({ dataDir, env: { DATABASE_URL: db.url } });
    const client = new ProfilesClient(first.url, first.publicKey, first.privateKey);
    expect((await client.post({ attributes: { email: 'rules@example.com', first_name: 'Ruth' } })).status).toBe(202);
    await client.until('email=rules@example.com');
    expect(await sql('SELECT version FROM projection_rules')).toEqual([{ version: RULES_VERSION }]); // a fresh store is stamped
    expect(await first.stop()).toBe(0);

    await sql('DELETE FROM projection_rules'); // as an upgraded database looks
    const upgraded = await startLive();
    try {
      const ready = await fetch(`${upgraded.url}/health/ready`);
      expect(ready.status).toBe(503);
      // One start-up warning (the health probe logs its failing check apart, under "readiness check failing").
      const warnings = upgraded.output().split('\n').filter((l) => l.includes('npm run tessera -- replay') && !l.includes('readiness check'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/"level":(40|"warn")/);
      expect(warnings[0]).toMatch(/older than versioning.*v\d+/);
      // Still serving: readiness reports it, it does not stop ingest or look-ups.
      expect((await new ProfilesClient(upgraded.url, first.publicKey, first.privateKey).get('email=rules@example.com')).status).toBe(200);
    } finally {
      expect(await upgraded.stop()).toBe(0);
    }

    const replay = await promisify(execFile)(process.execPath, [CLI, 'replay'], { env: { ...process.env, DATABASE_URL: db.url, KAFKA_BROKERS: '', TESSERA_DATA_DIR: dataDir } });
    expect(replay.stdout).toMatch(/replay done: 1 records/);
    expect(await sql('SELECT version FROM projection_rules')).toEqual([{ version: RULES_VERSION }]);

    const replayed = await startSingleNode({ dataDir, env: { DATABASE_URL: db.url, LOG_LEVEL: 'info' } }); // waits for /health/ready 200
    try {
      expect(replayed.output()).not.toContain('npm run tessera -- replay');
      expect((await new ProfilesClient(replayed.url, first.publicKey, first.privateKey).until('email=rules@example.com')).attributes.first_name).toBe('Ruth');
    } finally {
      expect(await replayed.stop()).toBe(0);
    }
  });

  it('and an older stamped version warns the same way, naming both versions', async () => {
    await sql(`UPDATE projection_rules SET version = ${RULES_VERSION - 1}`);
    const upgraded = await startLive();
    try {
      expect((await fetch(`${upgraded.url}/health/ready`)).status).toBe(503);
      expect(upgraded.output()).toContain(`identity rules v${RULES_VERSION - 1}; this version applies v${RULES_VERSION}`);
    } finally {
      expect(await upgraded.stop()).toBe(0);
    }
  });
});
