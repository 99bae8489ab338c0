// Issue 12 "Metrics" on Kafka (DESIGN §13): ingest and worker as separate processes on a broker of this
// test's own (two partitions). The worker's /metrics reads the consumer lag from the broker's high-water
// marks and the projector's checkpoints at scrape time — one gauge per partition, 0 once everything is
// applied — and ingest times its appends (acks=all) on the broker.
import { PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { createTenantKey, startAppProcess, type AppProcess } from '../support/app-process';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { planKafkaTestKind, startKafkaForTests, type DedicatedKafkaCluster } from '../support/kafka/kafka-test-cluster';
import { parsePrometheusText, type PrometheusExposition } from '../support/prometheus-text';
import { eventually } from '../support/single-node-server';

const GROUP = 'tessera.profile-projector';
const kind = planKafkaTestKind({ dedicated: true });

async function scrape(app: AppProcess): Promise<PrometheusExposition> {
  const r = await fetch(`${app.url}/metrics`);
  expect(r.status).toBe(200);
  return parsePrometheusText(await r.text());
}

describe(`given ingest and a worker on Kafka (${kind})`, () => {
  let broker: DedicatedKafkaCluster;
  let db: TestDatabase;
  let worker: AppProcess | undefined;
  let ingest: AppProcess | undefined;
  let key: string;

  beforeAll(async () => {
    [broker, db] = await Promise.all([
      startKafkaForTests(
        [
          { name: PROFILE_UPSERTS_TOPIC, partitions: 2 },
          { name: PROFILE_UPSERTS_DLQ_TOPIC, partitions: 1 },
        ],
        { dedicated: true },
      ),
      createTestDatabase('metrics_kafka'),
    ]);
    const env = { DATABASE_URL: db.url, KAFKA_BROKERS: broker.brokers.join(','), TESSERA_PARTITIONS: '2', TESSERA_KAFKA_REPLICATION_FACTOR: '1', TESSERA_KAFKA_MIN_INSYNC_REPLICAS: '1' };
    worker = await startAppProcess('worker', env, 90_000);
    ingest = await startAppProcess('ingest', env, 90_000);
    key = await createTenantKey(db.url, 'metrics', 'private');
  }, 180_000);

  afterAll(async () => {
    const codes = await Promise.all([ingest, worker].map((a) => a?.stop()));
    await broker?.stop();
    await db?.drop();
    expect(codes).toEqual([0, 0]);
  });

  it('when batches are ingested, then ingest times its appends and the worker shows lag per partition, down to 0', async () => {
    const items = Array.from({ length: 8 }, (_, i) => ({ attributes: { email: `k${i}.${process.pid}@example.com`, first_name: `K${i}` } }));
    for (const batch of [items.slice(0, 4), items.slice(4)]) {
      const r = await fetch(`${ingest!.url}/v3/profiles`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(batch) });
      expect(r.status).toBe(202);
    }
    const ingested = await scrape(ingest!);
    expect(ingested.sum('tessera_ingest_items_total', { route: '/v3/profiles' })).toBe(8);
    expect(ingested.sum('tessera_log_append_duration_seconds_count', { topic: PROFILE_UPSERTS_TOPIC, outcome: 'ok' })).toBe(2);
    expect(ingested.sum('tessera_log_appended_records_total', { topic: PROFILE_UPSERTS_TOPIC })).toBe(8);

    const worked = await eventually(async () => {
      const s = await scrape(worker!);
      const lag = s.find('tessera_consumer_lag_records', { group: GROUP, topic: PROFILE_UPSERTS_TOPIC });
      return lag.length === 2 && lag.every((l) => l.value === 0) && s.sum('tessera_projector_records_applied_total', { group: GROUP, kind: 'upsert' }) >= 8 ? s : undefined;
    }, 30_000, 200);
    expect(worked.find('tessera_consumer_lag_records', { topic: PROFILE_UPSERTS_TOPIC }).map((s) => s.labels.partition).sort()).toEqual(['0', '1']);
    expect(worked.sum('tessera_log_end_offset', { topic: PROFILE_UPSERTS_TOPIC })).toBeGreaterThanOrEqual(8);
    expect(worked.sum('tessera_projector_batch_duration_seconds_count', { group: GROUP, outcome: 'ok' })).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
