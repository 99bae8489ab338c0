// Issue 8 §2: the Kafka broker restarts (its data kept on disk) while ingest is under load. The
// single-node server runs on a real broker of this test's own (startKafkaForTests({ dedicated: true })).
// While the broker is down POST answers 503 (never a 202 it cannot keep); after it is back, ingest
// accepts again, the worker goes on from its checkpoints, and every item ever acknowledged with 202 is
// queryable whole. Twice: a crash (SIGKILL) and an orderly restart (SIGTERM), both under load.
import { PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { isAlive, mapLimit, rawRequest, sleep } from '../support/faults/http';
import { itemState, LoadDriver } from '../support/faults/load';
import { startKafkaForTests, type DedicatedKafkaCluster } from '../support/kafka/kafka-test-cluster';
import { eventually, ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const PARTITIONS = 4;

describe('given the single-node server on a real Kafka broker under ingest load', () => {
  let broker: DedicatedKafkaCluster;
  let server: SingleNode | undefined;
  const tag = `krestart${process.pid}`;

  beforeAll(async () => {
    broker = await startKafkaForTests(
      [
        { name: PROFILE_UPSERTS_TOPIC, partitions: PARTITIONS },
        { name: PROFILE_UPSERTS_DLQ_TOPIC, partitions: 1 },
      ],
      { dedicated: true },
    );
    server = await startSingleNode({
      env: {
        KAFKA_BROKERS: broker.brokers.join(','),
        TESSERA_PARTITIONS: String(PARTITIONS),
        TESSERA_PRODUCE_TIMEOUT_MS: '2000',
        TESSERA_KAFKA_REPLICATION_FACTOR: '1',
        TESSERA_KAFKA_MIN_INSYNC_REPLICAS: '1',
        // KafkaJS restarts a consumer that lost every broker as a new group member; the group hands out
        // partitions once the old member's session expires (the default 30 s would only slow the test).
        TESSERA_KAFKA_SESSION_TIMEOUT_MS: '5000',
      },
    });
  }, 90_000);

  afterAll(async () => {
    await server?.stop('SIGTERM');
    server?.cleanup();
    await broker?.stop();
  });

  it.each([
    ['killed (SIGKILL)', 'kill'],
    ['stopped in order (SIGTERM)', 'stop'],
  ] as const)('when the broker is %s and restarted with its data, then 503s only while it is down and every acknowledged item is applied', async (_how, how) => {
    const node = server!;
    const api = new ProfilesClient(node.url, node.publicKey, node.privateKey);
    const load = new LoadDriver({ url: node.url, key: node.publicKey, clients: 3, itemsPerBatch: 5, tag: `${tag}${how}`, errorPauseMs: 100, maxRequestsPerClient: 2_000 }).start();
    try {
      await load.untilAccepted(15);
      await (how === 'kill' ? broker.kill() : broker.stop());
      const downAt = Date.now();
      await sleep(5_000); // ingest keeps posting against the dead broker (each POST waits up to the 2 s produce timeout)
      const restartAt = Date.now();
      await broker.restart();
      const acceptedBefore = load.accepted().length;
      await eventually(async () => (load.accepted().length >= acceptedBefore + 15 ? true : undefined), 45_000, 100);
      await load.stop();

      for (const o of load.outcomes) expect([202, 503]).toContain(o.response?.status);
      const whileDown = load.outcomes.filter((o) => o.sentAt > downAt + 200 && o.doneAt! < restartAt);
      expect(whileDown.length).toBeGreaterThan(0);
      expect(whileDown.filter((o) => o.response?.status !== 503)).toEqual([]);
      expect(isAlive(node.process.pid)).toBe(true);

      const acked = load.accepted().flatMap((o) => o.items);
      expect(acked.length).toBeGreaterThanOrEqual(150);
      const states = await mapLimit(acked, 8, async (item) => {
        const q = `email=${encodeURIComponent(item.attributes.email)}`;
        await api.until(q, () => true, 30_000).catch(() => undefined);
        return `${item.attributes.email}:${itemState(item, await api.get(q))}`;
      });
      expect(states.filter((s) => !s.endsWith(':applied'))).toEqual([]);
      expect((await rawRequest(node.url, { path: '/health/ready' })).status).toBe(200);
    } finally {
      await load.stop();
    }
  }, 90_000);
});
