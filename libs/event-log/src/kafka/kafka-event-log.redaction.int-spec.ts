// Erasure on Kafka (DESIGN §11, option 1): records keyed by their record id on a compacted topic; a
// tombstone with that key makes compaction remove the record. Against a real broker, with a tiny
// max.compaction.lag.ms / segment.ms so the cleaner gets to it within the test; the measured time is
// logged. The broker's own cleaner back-off (log.cleaner.backoff.ms, 15 s by default) bounds it from below.
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, ConfigResourceTypes } from 'kafkajs';
import { createTopics, planKafkaTestKind, startKafkaForTests, type KafkaTestCluster } from '../../../../test/support/kafka/kafka-test-cluster';
import { BatchCollector, waitFor } from '../conformance/event-log.conformance';
import { RedactionUnavailableError, type LogRecord } from '../event-log.port';
import { KafkaEventLog } from './kafka-event-log';
import { silentLogger } from './kafka-logger';

const kind = planKafkaTestKind();
const run = randomBytes(3).toString('hex');
const TINY = { maxCompactionLagMs: 100, segmentMs: 100, minCleanableDirtyRatio: 0.01, deleteRetentionMs: 100 };
let cluster: KafkaTestCluster | undefined;
const logs: KafkaEventLog[] = [];
const errors: Array<{ msg: string; extra?: Record<string, unknown> }> = [];

beforeAll(async () => {
  if (kind !== 'mokapi') cluster = await startKafkaForTests([]);
}, 180_000);
afterEach(async () => {
  await Promise.all(logs.splice(0).map((l) => l.close()));
});
afterAll(async () => {
  await cluster?.stop();
});

function open(): KafkaEventLog {
  const log = new KafkaEventLog({
    brokers: cluster!.brokers,
    clientId: 'redaction',
    replicationFactor: 1,
    minInsyncReplicas: 1,
    logger: { ...silentLogger, error: (msg, extra) => errors.push({ msg, extra }) },
  });
  logs.push(log);
  return log;
}

async function readAll(log: KafkaEventLog, topic: string): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  await log.scan(topic, async (b) => void records.push(...b.records));
  return records;
}

async function topicConfig(topic: string): Promise<Record<string, string>> {
  const admin = new Kafka({ brokers: cluster!.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const d = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
    return Object.fromEntries(d.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
  } finally {
    await admin.disconnect();
  }
}

// mokapi has no topic configs and no log cleaner.
(kind === 'mokapi' ? describe.skip : describe)(`Kafka redaction (${kind})`, () => {
  it('creates a deletable topic compacted with the bounds asked for', async () => {
    const log = open();
    const topic = `tessera.redaction.config.${run}`;
    await log.ensureTopics([{ name: topic, partitions: 1, retentionMs: -1, deletable: { maxCompactionLagMs: 86_400_000 } }]);
    expect(await topicConfig(topic)).toMatchObject({
      'cleanup.policy': 'compact',
      'max.compaction.lag.ms': '86400000',
      'segment.ms': '3600000',
      'min.cleanable.dirty.ratio': '0.01',
      'retention.ms': '-1',
    });
  });

  it('tombstones a record by its key; compaction removes it from a fresh read; a consumer resuming inside the gap is told it is no gap (readFrom)', async () => {
    const log = open();
    const topic = `tessera.redaction.compact.${run}`;
    await log.ensureTopics([{ name: topic, partitions: 1, retentionMs: -1, deletable: TINY }]);
    const produced = await log.produce(topic, Array.from({ length: 6 }, (_, i) => ({ key: `record-${i}`, value: `secret-${i}`, partitionKey: 'person' })));
    const started = Date.now();
    expect(await log.redact(topic, [1, 2].map((i) => ({ partition: 0, offset: produced[i]!.offset, key: `record-${i}`, value: '' })))).toEqual({
      rewritten: 0,
      tombstones: 2,
    });
    // Readable until the cleaner ran: the tombstones are there at once.
    expect((await readAll(log, topic)).filter((r) => r.tombstone).map((r) => r.key)).toEqual(['record-1', 'record-2']);

    await waitFor(
      async () => !(await readAll(log, topic)).some((r) => r.value.toString() === 'secret-1' || r.value.toString() === 'secret-2'),
      'compaction to remove the tombstoned records',
      150_000,
      1_000,
    );
    // eslint-disable-next-line no-console
    console.log(`Kafka (${cluster!.version ?? kind}): tombstoned records gone from a fresh read after ${Date.now() - started} ms (max.compaction.lag.ms=100, segment.ms=100)`);
    const left = await readAll(log, topic);
    expect(left.filter((r) => !r.tombstone).map((r) => r.value.toString())).toEqual(['secret-0', 'secret-3', 'secret-4', 'secret-5']);

    // A consumer whose checkpoint is the deleted record's offset: the broker serves from there, the first
    // record is later, and readFrom says the offsets between do not exist (the projector's gap rule).
    const collector = new BatchCollector();
    const consumer = await log.consume({
      groupId: `redaction.${run}`,
      topics: [topic],
      handleBatch: collector.handleBatch,
      resolveStartOffset: async () => produced[1]!.offset,
    });
    await waitFor(() => collector.records.some((r) => r.value.toString() === 'secret-5'), 'the records after the gap');
    await consumer.stop();
    const first = collector.batches[0]!;
    expect(first.records[0]!.offset).toBeGreaterThan(produced[1]!.offset);
    expect(first.readFrom).toBe(produced[1]!.offset);
  }, 200_000);

  it('ends a scan whose bound lies past the last record there is (as after compaction removed a partition\'s tail)', async () => {
    const log = open();
    const topic = `tessera.redaction.tail.${run}`;
    await log.ensureTopics([{ name: topic, partitions: 2, retentionMs: -1, deletable: TINY }]);
    await log.produce(topic, [0, 1, 2].map((i) => ({ key: `k${i}`, value: `v${i}`, partition: 0 })));
    const ends = await log.endOffsets(topic);
    const started = Date.now();
    const result = await log.scan(topic, async () => undefined, { until: ends.map((e) => ({ partition: e.partition, offset: e.offset + 5 })) });
    expect(result.records).toBe(3);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('refuses to redact on a topic that is not compacted, and does not switch a non-empty delete-policy topic (its keys may be identifiers)', async () => {
    const log = open();
    const topic = `tessera.redaction.legacy.${run}`;
    await createTopics(cluster!.brokers, [{ name: topic, partitions: 1 }]);
    const [legacy] = await log.produce(topic, [{ key: 'default:ada@example.com', value: 'legacy' }]);
    errors.length = 0;
    await log.ensureTopics([{ name: topic, partitions: 1, deletable: TINY }]);
    expect((await topicConfig(topic))['cleanup.policy']).toBe('delete');
    expect(errors.map((e) => e.msg)).toEqual([expect.stringMatching(/not compacted and holds records/)]);
    await expect(log.redact(topic, [{ partition: 0, offset: legacy!.offset, key: 'default:ada@example.com', value: '' }])).rejects.toBeInstanceOf(
      RedactionUnavailableError,
    );
  });
});
