// Issue 9 item 3: a terminal's Ctrl-C sends SIGINT to the whole foreground process group. The embedded
// PostgreSQL must not be in that group (it would stop first and fail every request in flight): the
// server drains, finishes the batches it holds with 202, stops PostgreSQL last and exits 0.
//
// As in graceful-shutdown.int-spec.ts, a SQL session of the test holds the Postgres log's partition
// row lock, so every client's batch is inside produce() when the signal arrives.
import { PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { connectDataDirDb, holdLogPartitions } from '../support/faults/data-dir-db';
import { mapLimit, sleep } from '../support/faults/http';
import { itemState, LoadDriver } from '../support/faults/load';
import { ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const ENV = { TESSERA_PARTITIONS: '1' };
const CLIENTS = 4;

describe('given the single-node server started in a process group of its own, under load', () => {
  let first: SingleNode | undefined;
  let second: SingleNode | undefined;

  afterAll(async () => {
    await second?.stop('SIGTERM');
    await first?.stop('SIGKILL');
    first?.cleanup();
  });

  it('when the whole group gets SIGINT (Ctrl-C), then in-flight batches finish with 202, it exits 0 and nothing acknowledged is lost', async () => {
    first = await startSingleNode({ env: ENV, detached: true });
    const server = first;
    const tag = `ctrlc${process.pid}`;
    const load = new LoadDriver({ url: server.url, key: server.publicKey, clients: CLIENTS, itemsPerBatch: 50, tag }).start();
    await load.untilAccepted(10);

    const db = await holdLogPartitions(server.dataDir, PROFILE_UPSERTS_TOPIC);
    const exited = new Promise<number | null>((r) => server.process.once('exit', (code) => r(code)));
    try {
      await sleep(500); // every client's current batch has reached the log by now
      const inFlight = load.pending();
      expect(inFlight).toHaveLength(CLIENTS);

      process.kill(-server.process.pid!, 'SIGINT'); // what a terminal does on Ctrl-C
      await sleep(500);
      expect(server.process.exitCode).toBeNull(); // still draining
      // PostgreSQL did not get the signal: the session holding the lock is still alive.
      expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

      await db.query('ROLLBACK'); // the log takes the held batches now
      expect(await exited).toBe(0);
      await load.stop();
      expect(inFlight.map((o) => o.response?.status)).toEqual(inFlight.map(() => 202));
      for (const o of load.outcomes) {
        if (o.response?.status !== undefined) expect([202, 503]).toContain(o.response.status);
      }
    } finally {
      await db.query('ROLLBACK').catch(() => undefined);
      await db.end().catch(() => undefined);
      await load.stop();
    }

    // PostgreSQL was stopped by the server (last), not left running.
    await expect(connectDataDirDb(server.dataDir)).rejects.toThrow();

    second = await startSingleNode({ dataDir: server.dataDir, env: ENV });
    const api = new ProfilesClient(second.url, second.publicKey, second.privateKey);
    const acked = load.accepted().flatMap((o) => o.items);
    await api.until(`email=${encodeURIComponent(acked[acked.length - 1].attributes.email)}`, () => true, 30_000);
    const states = await mapLimit(acked, 8, async (item) => `${item.attributes.email}:${itemState(item, await api.get(`email=${encodeURIComponent(item.attributes.email)}`))}`);
    expect(states.filter((s) => !s.endsWith(':applied'))).toEqual([]);
    expect(await second.stop('SIGTERM')).toBe(0);
    second = undefined;
  }, 120_000);
});
