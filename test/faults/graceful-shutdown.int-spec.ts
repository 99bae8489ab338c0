// Issue 5 §4: SIGTERM while ingest is busy. Requests the server is working on finish with 202, requests
// arriving once shutdown began get 503 (or cannot connect), the process exits 0, and after a restart
// every acknowledged item is there.
//
// To make "in flight" deterministic the test holds the Postgres log's partition row lock from a SQL
// session of its own: every batch that reached the log waits inside produce() when SIGTERM arrives.
import { PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { holdLogPartitions } from '../support/faults/data-dir-db';
import { mapLimit, postProfiles, sleep, startSlowRequest } from '../support/faults/http';
import { itemState, LoadDriver, loadItem } from '../support/faults/load';
import { ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const ENV = { TESSERA_PARTITIONS: '1' };
const CLIENTS = 4;

describe('given clients posting continuously to the single-node server', () => {
  let first: SingleNode | undefined;
  let second: SingleNode | undefined;

  afterAll(async () => {
    await second?.stop('SIGTERM');
    await first?.stop('SIGKILL');
    first?.cleanup();
  });

  it('when it gets SIGTERM, then in-flight batches finish with 202, late ones get 503, it exits 0 and nothing acknowledged is lost', async () => {
    first = await startSingleNode({ env: ENV });
    const server = first;
    const tag = `term${process.pid}`;
    // A per-client bound a fast server cannot use up before the log is held (400 requests once ran out
    // first on a loaded machine: no batch was left to wait on the held partition); stop() ends the load.
    const load = new LoadDriver({ url: server.url, key: server.publicKey, clients: CLIENTS, itemsPerBatch: 50, tag, maxRequestsPerClient: 1_500 }).start();
    await load.untilAccepted(10);

    // Hold the log: batches that reach produce() now wait on the partition row.
    const db = await holdLogPartitions(server.dataDir, PROFILE_UPSERTS_TOPIC);
    let exit: Promise<number | null> | undefined;
    try {
      await sleep(500); // every client's current batch has reached the log by now
      const inFlight = load.pending();
      expect(inFlight).toHaveLength(CLIENTS);

      // A request the server is still receiving when shutdown begins (headers and half of the body now).
      const slowItems = [loadItem(`${tag}slow`, 0, 0, 0)];
      const slowBody = JSON.stringify(slowItems);
      const slow = startSlowRequest(server.url, {
        path: '/v3/profiles',
        headers: { 'content-type': 'application/json', 'x-api-key': server.publicKey },
        body: slowBody,
        firstBytes: Math.floor(slowBody.length / 2),
      });
      await sleep(200);

      exit = server.stop('SIGTERM');
      await sleep(300);
      slow.finish();
      const late = await postProfiles(server.url, server.publicKey, [loadItem(`${tag}late`, 0, 0, 0)]);
      await sleep(200);
      expect(server.process.exitCode).toBeNull(); // still draining: the held batches have not finished

      await db.query('ROLLBACK'); // the log takes the held batches now
      expect(await exit).toBe(0);
      exit = undefined;
      await load.stop();

      // Every batch in flight at SIGTERM was finished and acknowledged.
      expect(inFlight.map((o) => o.response?.status)).toEqual(inFlight.map(() => 202));
      // The batch being uploaded at SIGTERM got an answer (not a dropped connection): 503, or 202 if it was taken.
      const slowAnswer = await slow.response;
      expect([202, 503]).toContain(slowAnswer.status);
      if (slowAnswer.status === 503) expect(slowAnswer.headers['retry-after']).toBeDefined();
      // A new request after shutdown began is refused: 503 with Retry-After, or no connection at all.
      if (late.status !== undefined) {
        expect(late.status).toBe(503);
        expect(late.headers['retry-after']).toBeDefined();
      } else {
        expect(late.error).toBe('ECONNREFUSED');
      }
      // Nothing but 202 and 503 was ever answered.
      for (const o of load.outcomes) {
        if (o.response?.status !== undefined) expect([202, 503]).toContain(o.response.status);
      }

      second = await startSingleNode({ dataDir: server.dataDir, env: ENV });
      const api = new ProfilesClient(second.url, second.publicKey, second.privateKey);
      const sentinel = `sentinel.${tag}@example.com`;
      expect((await api.post({ attributes: { email: sentinel } })).status).toBe(202);
      await api.until(`email=${encodeURIComponent(sentinel)}`, () => true, 30_000);
      const acked = [...load.accepted().flatMap((o) => o.items), ...(slowAnswer.status === 202 ? slowItems : [])];
      const states = await mapLimit(acked, 8, async (item) => `${item.attributes.email}:${itemState(item, await api.get(`email=${encodeURIComponent(item.attributes.email)}`))}`);
      expect(states.filter((s) => !s.endsWith(':applied'))).toEqual([]);
      expect(await second.stop('SIGTERM')).toBe(0);
      second = undefined;
    } finally {
      await db.query('ROLLBACK').catch(() => undefined);
      await db.end().catch(() => undefined);
      await load.stop();
    }
  }, 120_000);
});
