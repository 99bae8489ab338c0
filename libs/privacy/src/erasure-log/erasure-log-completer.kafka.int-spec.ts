// The erasure completer on Kafka (DESIGN §11, option 1): the person's records on a compacted topic get
// tombstones (records keyed by their record id), their outbox rows are redacted in PostgreSQL, the
// request completes, and compaction then removes the records from the broker. Real broker, tiny bounds.
import { randomBytes, randomUUID } from 'node:crypto';
import { DLQ_HEADER } from '@tessera/contracts';
import { KafkaEventLog, LogRecord } from '@tessera/event-log';
import { IdentifierHasher } from '@tessera/store';
import { createProjectionFixture, encodeUpserts, ProjectionFixture, silentLogger } from '@tessera/testing/projection-fixture';
import { planKafkaTestKind, startKafkaForTests, type KafkaTestCluster } from '../../../../test/support/kafka/kafka-test-cluster';
import { ErasureLogCompleter } from './erasure-log-completer';

const kind = planKafkaTestKind();
const run = randomBytes(3).toString('hex');
const TOPIC = `tessera.erasure-log.${run}`;
const DLQ = `${TOPIC}.dlq`;
const TINY = { maxCompactionLagMs: 100, segmentMs: 100, minCleanableDirtyRatio: 0.01, deleteRetentionMs: 100 };
let cluster: KafkaTestCluster | undefined;
let fx: ProjectionFixture;
let log: KafkaEventLog;

beforeAll(async () => {
  if (kind === 'mokapi') return;
  cluster = await startKafkaForTests([]);
  fx = await createProjectionFixture(1);
  log = new KafkaEventLog({ brokers: cluster.brokers, clientId: 'erasure-log', replicationFactor: 1, minInsyncReplicas: 1, logger: silentLogger });
  await log.ensureTopics([
    { name: TOPIC, partitions: 2, retentionMs: -1, deletable: TINY },
    { name: DLQ, partitions: 1, retentionMs: -1, deletable: TINY },
  ]);
}, 180_000);
afterAll(async () => {
  await log?.close();
  await fx?.close();
  await cluster?.stop();
});

async function readAll(topic: string): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  await log.scan(topic, async (b) => void records.push(...b.records));
  return records;
}

(kind === 'mokapi' ? describe.skip : describe)(`erasure completer on Kafka (${kind})`, () => {
  it('tombstones the erased person\'s records and DLQ copies, redacts the outbox, completes, and compaction removes them from the broker', async () => {
    const hasher = await IdentifierHasher.load(fx.dataSource);
    const upserts = encodeUpserts([{ email: `ada.${run}@example.com`, last_name: 'Lovelace' }, { email: `grace.${run}@example.com` }, { email: `ada.${run}@example.com`, city: 'London' }]);
    const produced = await log.produce(TOPIC, upserts);
    await log.produce(DLQ, [
      { ...upserts[0]!, headers: { ...upserts[0]!.headers, [DLQ_HEADER.sourceTopic]: TOPIC, [DLQ_HEADER.sourcePartition]: String(produced[0]!.partition), [DLQ_HEADER.sourceOffset]: String(produced[0]!.offset) } },
    ]);
    await fx.dataSource.query(`INSERT INTO dead_letter_outbox (topic, key, value, headers) VALUES ($1, $2, $3, '{}')`, [DLQ, upserts[2]!.key, Buffer.from(upserts[2]!.value)]);
    const id = randomUUID();
    const hash = hasher.hash('default', 'email', `ada.${run}@example.com`);
    await fx.dataSource.query(
      `INSERT INTO erasure_requests (id, tenant, regulation, requester, identifier_type, identifier_hash, record_id, requested_at, applied_at)
       VALUES ($1, 'default', 'gdpr', 'dpo', 'email', $2, $3, now(), now())`,
      [id, hash, randomUUID()],
    );
    for (const end of await log.endOffsets(TOPIC)) {
      await fx.dataSource.query(`INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset) VALUES ('tessera.profile-projector', $1, $2, $3)`, [
        TOPIC,
        end.partition,
        end.offset,
      ]);
    }
    const completer = new ErasureLogCompleter(fx.dataSource, log, fx.tenants, silentLogger, { settleMs: 0, projectorWaitMs: 200, topic: TOPIC, dlqTopic: DLQ });

    const round = await completer.runOnce();
    expect(round).toMatchObject({ requests: [id], redacted: { log: 2, dlq: 1, outbox: 1 }, scanned: { log: 3, dlq: 1, outbox: 1 } });
    // eslint-disable-next-line no-console
    console.log(`erasure round on Kafka (${cluster!.version ?? kind}): ${round!.scanned.log + round!.scanned.dlq} records scanned in ${round!.ms} ms`);
    expect((await fx.dataSource.query(`SELECT completed_at IS NOT NULL AS done FROM erasure_requests WHERE id = $1`, [id]))[0].done).toBe(true);
    const [outbox] = await fx.dataSource.query(`SELECT value FROM dead_letter_outbox`);
    expect(JSON.parse(outbox.value.toString())).toMatchObject({ id: JSON.parse(upserts[2]!.value).id, redacted: true });
    expect(JSON.stringify(JSON.parse(outbox.value.toString()))).not.toContain('ada.');

    // Tombstones are on the broker at once; the records go with compaction.
    // (A roll marker, a tombstone of a fresh key, follows segment.ms later.)
    const tombstoned = (await readAll(TOPIC)).filter((r) => r.tombstone && !r.key?.startsWith('tessera.segment-roll.')).map((r) => r.key).sort();
    expect(tombstoned).toEqual([upserts[0]!.key, upserts[2]!.key].sort());
    const started = Date.now();
    const readable = async () => [...(await readAll(TOPIC)), ...(await readAll(DLQ))].filter((r) => r.value.toString().includes(`ada.${run}`));
    for (;;) {
      if ((await readable()).length === 0) break;
      if (Date.now() - started > 150_000) throw new Error('the erased records are still readable after 150 s');
      await new Promise((r) => setTimeout(r, 1_000));
    }
    // eslint-disable-next-line no-console
    console.log(`erased records gone from the broker ${Date.now() - started} ms after COMPLETED (max.compaction.lag.ms=100)`);
    expect((await readAll(TOPIC)).filter((r) => !r.tombstone).map((r) => r.key)).toEqual([upserts[1]!.key]);

    // A second round has nothing to do; a tombstone already there means no second one.
    expect(await completer.runOnce()).toBeNull();
  }, 240_000);
});
