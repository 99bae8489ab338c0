// Issue 5 §1: the Kafka path stopped during ingest. The single-node server runs on KAFKA_BROKERS pointed
// at a broker of this test's own (startKafkaForTests({ dedicated: true }): the JVM broker from Maven jars
// on this machine, never the run's shared broker nor a KAFKA_BROKERS cluster — the test breaks it).
//
// Covered:
// - broker unresponsive (SIGSTOP, records kept): POST answers 503 + Retry-After and never 202, readiness
//   fails, the process stays up; after it answers again every acknowledged item is applied and new
//   batches get 202;
// - broker gone (SIGKILL, port closed): 503 and never 202, the process stays up; once the broker is back
//   on the same address, ingest accepts again and (a real broker keeps its log on disk) everything
//   acknowledged before and after the outage is applied.
// On the go-mokapi fallback a restarted broker is empty (its log lives in memory) while the worker's
// checkpoints point past its new offsets, so "applied after the restart" is checked on real brokers
// only; mokapi also rejects an idempotent producer's second multi-record batch on a partition, so
// there every POST carries one item.
import { PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { planKafkaTestKind, startKafkaForTests, type DedicatedKafkaCluster } from '../support/kafka/kafka-test-cluster';
import { isAlive, mapLimit, postProfiles, rawRequest, RawResponse, sleep } from '../support/faults/http';
import { itemState, LoadDriver, loadItem } from '../support/faults/load';
import { eventually, ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const kind = planKafkaTestKind({ dedicated: true });
const ITEMS_PER_BATCH = kind === 'mokapi' ? 1 : 5;
const PRODUCE_TIMEOUT_MS = 2_000;

function expectUnavailable(r: RawResponse, what: string) {
  expect({ what, status: r.status }).toEqual({ what, status: 503 });
  expect(r.headers['retry-after']).toMatch(/^\d+$/);
  expect(r.json).toEqual({ title: 'Service Unavailable', status: 503, timestamp: expect.any(String) });
  expect(r.text).not.toMatch(/\bat \S+ \(|Error:|kafka/i);
}

describe(`given the single-node server on Kafka (${kind})`, () => {
  let broker: DedicatedKafkaCluster;
  let server: SingleNode | undefined;
  let api: ProfilesClient;
  const tag = `kafka${process.pid}`;

  beforeAll(async () => {
    broker = await startKafkaForTests(
      [
        { name: PROFILE_UPSERTS_TOPIC, partitions: 2 },
        { name: PROFILE_UPSERTS_DLQ_TOPIC, partitions: 1 },
      ],
      { dedicated: true },
    );
    server = await startSingleNode({
      env: { KAFKA_BROKERS: broker.brokers.join(','), TESSERA_PARTITIONS: '2', TESSERA_PRODUCE_TIMEOUT_MS: String(PRODUCE_TIMEOUT_MS) },
    });
    api = new ProfilesClient(server.url, server.publicKey, server.privateKey);
  }, 90_000);

  afterAll(async () => {
    broker?.resume();
    await server?.stop('SIGTERM');
    server?.cleanup();
    await broker?.stop();
  });

  it('when the broker stops answering during ingest, then 503 and never 202; when it answers again, nothing acknowledged is missing', async () => {
    const node = server!;
    const load = new LoadDriver({ url: node.url, key: node.publicKey, clients: 2, itemsPerBatch: ITEMS_PER_BATCH, tag: `${tag}p`, errorPauseMs: 100, maxRequestsPerClient: 300 }).start();
    try {
      await load.untilAccepted(10);
      broker.pause();
      const pausedAt = Date.now();
      for (let i = 0; i < 2; i++) {
        expectUnavailable(await postProfiles(node.url, node.publicKey, [loadItem(`${tag}probe`, 0, i, 0)]), `POST while paused #${i}`);
      }
      expect((await rawRequest(node.url, { path: '/health/live' })).status).toBe(200);
      expect((await rawRequest(node.url, { path: '/health/ready' })).status).toBe(503);
      expect(isAlive(node.process.pid)).toBe(true);
      const resumedAt = Date.now();
      broker.resume();
      const after = loadItem(`${tag}after`, 0, 0, 0);
      await eventually(async () => ((await postProfiles(node.url, node.publicKey, [after])).status === 202 ? true : undefined), 30_000, 200);
      await load.stop();

      const answeredWhilePaused = load.outcomes.filter((o) => o.sentAt > pausedAt && o.doneAt! < resumedAt);
      expect(answeredWhilePaused.length).toBeGreaterThan(0);
      for (const o of answeredWhilePaused) expectUnavailable(o.response!, `load item ${o.client}/${o.seq}`);
      for (const o of load.outcomes) expect([202, 503]).toContain(o.response?.status);

      const acked = [...load.accepted().flatMap((o) => o.items), after];
      const states = await mapLimit(acked, 4, async (item) => {
        const q = `email=${encodeURIComponent(item.attributes.email)}`;
        await api.until(q, () => true, 30_000).catch(() => undefined);
        return `${item.attributes.email}:${itemState(item, await api.get(q))}`;
      });
      const notApplied = states.filter((s) => !s.endsWith(':applied'));
      // Why, should it ever happen (seen once in CI: the item posted right after the broker came back was not
      // queryable 30 s later): what the server logged.
      if (notApplied.length) console.error(`server output (last 8,000 characters):\n${node.output().slice(-8000)}`);
      expect(notApplied).toEqual([]);
    } finally {
      broker.resume();
      await load.stop();
    }
  }, 120_000);

  it('when the broker is gone, then ingest answers 503 (never 202) and stays up; when a broker is back on its address, ingest accepts again', async () => {
    const node = server!;
    await broker.kill();
    for (let i = 0; i < 3; i++) {
      expectUnavailable(await postProfiles(node.url, node.publicKey, [loadItem(`${tag}gone`, 0, i, 0)]), `POST while the broker is gone #${i}`);
    }
    expect((await rawRequest(node.url, { path: '/health/live' })).status).toBe(200);
    expect((await rawRequest(node.url, { path: '/health/ready' })).status).toBe(503);
    expect(isAlive(node.process.pid)).toBe(true);

    await broker.restart();
    const back = loadItem(`${tag}back`, 0, 0, 0);
    await eventually(async () => ((await postProfiles(node.url, node.publicKey, [back])).status === 202 ? true : undefined), 30_000, 200);
    await eventually(async () => ((await rawRequest(node.url, { path: '/health/ready' })).status === 200 ? true : undefined), 30_000, 200);
    if (broker.keepsData) {
      // The log survived on disk: the worker goes on from its checkpoints and applies what came after.
      // (Its consumer group takes up to ~30 s to come back after the broker did: KafkaJS's restart back-off.)
      const q = `email=${encodeURIComponent(back.attributes.email)}`;
      await api.until(q, () => true, 60_000).catch(() => undefined);
      expect(itemState(back, await api.get(q))).toBe('applied');
    }
    await sleep(100);
    expect(node.process.exitCode).toBeNull();
  }, 150_000);
});
