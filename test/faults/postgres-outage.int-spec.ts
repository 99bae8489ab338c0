// Issue 5 §1: PostgreSQL stopped under load. While it is down, POST and GET answer 503 with Retry-After
// (never 202, never 500, no stack trace) and the server stays up; after PostgreSQL is back the worker
// resumes, every acknowledged item is applied and new batches are accepted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresProcess, startPostgresProcess } from '../support/embedded-postgres-process';
import { isAlive, mapLimit, postProfiles, rawRequest, sleep } from '../support/faults/http';
import { itemState, LoadDriver, loadItem } from '../support/faults/load';
import { eventually, ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const SECURITY_HEADERS = ['x-content-type-options', 'x-frame-options', 'content-security-policy', 'referrer-policy', 'cache-control'];

function expectServiceUnavailable(r: { status?: number; headers: Record<string, unknown>; text: string; json?: any; error?: string }, what: string) {
  // The transport error, if any, is part of the comparison so a failure names it (TIMEOUT, ECONNRESET …).
  expect({ what, status: r.status, error: r.error }).toEqual({ what, status: 503, error: undefined });
  expect(r.headers['retry-after']).toMatch(/^\d+$/);
  expect(r.json).toMatchObject({ title: 'Service Unavailable', status: 503, timestamp: expect.any(String) });
  // No stack trace or driver detail leaks to the client.
  expect(r.text).not.toMatch(/\bat \S+ \(|Error:|ECONNREFUSED|stack|postgres/i);
  for (const h of SECURITY_HEADERS) expect(r.headers[h]).toBeDefined();
}

describe('given a single-node server on an external PostgreSQL', () => {
  let dir: string;
  let dbDir: string;
  let pg: PostgresProcess | undefined;
  let server: SingleNode | undefined;

  beforeAll(async () => {
    // Two temp dirs: PostgreSQL (run as another OS user when we are root) must be able to enter its own.
    dbDir = mkdtempSync(join(tmpdir(), 'tessera-pg-outage-db-'));
    dir = mkdtempSync(join(tmpdir(), 'tessera-pg-outage-node-'));
    pg = await startPostgresProcess(dbDir);
    server = await startSingleNode({
      dataDir: dir,
      env: { DATABASE_URL: pg.url, TESSERA_PARTITIONS: '1', TESSERA_PRODUCE_TIMEOUT_MS: '3000' },
    });
  });

  afterAll(async () => {
    await server?.stop('SIGTERM');
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(dbDir, { recursive: true, force: true });
  });

  it('when PostgreSQL stops under load, then ingest and query answer 503 with Retry-After, and after it restarts everything acknowledged is applied', async () => {
    const node = server!;
    const api = new ProfilesClient(node.url, node.publicKey, node.privateKey);
    const tag = `pgdown${process.pid}`;
    // Authenticated requests before the outage (the server caches key look-ups and tenant rules).
    expect((await api.post({ attributes: { email: `warm.${tag}@example.com` } })).status).toBe(202);
    await api.until(`email=${encodeURIComponent(`warm.${tag}@example.com`)}`);

    const load = new LoadDriver({ url: node.url, key: node.publicKey, clients: 4, itemsPerBatch: 25, tag, errorPauseMs: 100 }).start();
    await load.untilAccepted(8);
    await pg!.stop();
    const downAt = Date.now();

    // While it is down: probes of our own, and the load keeps going.
    for (let i = 0; i < 3; i++) {
      const post = await postProfiles(node.url, node.publicKey, [loadItem(`${tag}probe`, 9, i, 0)]);
      // No answer at all means the server died (it did, ≈1 run in 25, until pooled connections kept an error
      // listener for life: pool-client-errors.ts). Say so, with its output.
      if (post.status === undefined) throw new Error(`POST during the outage #${i}: no answer (${post.error}); server exit code ${node.process.exitCode}; output:\n${node.output().slice(-6000)}`);
      expectServiceUnavailable(post, `POST during the outage #${i}`);
      const get = await rawRequest(node.url, { path: `/v3/profiles?email=${encodeURIComponent(`warm.${tag}@example.com`)}`, headers: { 'x-api-key': node.privateKey } });
      expectServiceUnavailable(get, `GET during the outage #${i}`);
      expect((await rawRequest(node.url, { path: '/health/live' })).status).toBe(200);
      const ready = await rawRequest(node.url, { path: '/health/ready' });
      expect(ready.status).toBe(503);
      await sleep(300);
    }
    expect(isAlive(node.process.pid)).toBe(true);
    expect(node.process.exitCode).toBeNull();

    // Taken before the restart: PostgreSQL accepts connections some ms before startPostgresProcess returns,
    // and a batch sent in that gap is rightly accepted (seen: 202s 70 ms before a timestamp taken after it).
    const restartAt = Date.now();
    pg = await startPostgresProcess(dbDir, pg!.port);
    // New batches are accepted again.
    await eventually(async () => ((await postProfiles(node.url, node.publicKey, [loadItem(`${tag}after`, 0, 0, 0)])).status === 202 ? true : undefined), 30_000, 200);
    await sleep(500);
    await load.stop();

    // During the outage nothing was acknowledged and nothing failed with 500.
    const sentDuringOutage = load.outcomes.filter((o) => o.sentAt > downAt && o.doneAt !== undefined && o.doneAt < restartAt);
    expect(sentDuringOutage.length).toBeGreaterThan(0);
    for (const o of sentDuringOutage) expectServiceUnavailable(o.response!, `load batch ${o.client}/${o.seq}`);
    for (const o of load.outcomes) expect([202, 503]).toContain(o.response?.status);
    expect(node.output()).not.toMatch(/unhandled|uncaught/i);

    // The worker resumed: everything acknowledged (before, during and after) is applied.
    const acked = [...load.accepted().flatMap((o) => o.items), loadItem(`${tag}after`, 0, 0, 0)];
    const states = await mapLimit(acked, 8, async (item) => {
      const q = `email=${encodeURIComponent(item.attributes.email)}`;
      await api.until(q, () => true, 60_000);
      return `${item.attributes.email}:${itemState(item, await api.get(q))}`;
    });
    expect(states.filter((s) => !s.endsWith(':applied'))).toEqual([]);
  }, 150_000);
});
