// Group-member behaviour of the Kafka adapter that only a real broker shows (issue 8 item 2, 5):
// where a partition starts on every (re)assignment, what a rebalance does to a batch in flight, and
// what happens when KafkaJS gives a member up for good.
import { randomUUID } from 'node:crypto';
import { AssignerProtocol, Kafka, logLevel, PartitionAssigners, type Consumer, type PartitionAssigner } from 'kafkajs';
import { startKafkaForTests, type KafkaTestCluster } from '../../../../test/support/kafka/kafka-test-cluster';
import type { ConsumerHandle, RecordBatch } from '../event-log.port';
import { KafkaEventLog, type KafkaEventLogOptions } from './kafka-event-log';
import { consoleWarnLogger, silentLogger } from './kafka-logger';

const logger = process.env.TESSERA_TEST_KAFKA_LOGS ? consoleWarnLogger : silentLogger;
// Fast group membership: the broker's smallest session timeout (group.min.session.timeout.ms, 6 s by default).
const FAST_GROUP: Partial<KafkaEventLogOptions> = { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 300, fetchMaxWaitMs: 100 };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const topics = {
  startsAt: `consumer.start.${randomUUID().slice(0, 8)}`,
  staleSeek: `consumer.stale.${randomUUID().slice(0, 8)}`,
  rebalance: `consumer.rebal.${randomUUID().slice(0, 8)}`,
  fatal: `consumer.fatal.${randomUUID().slice(0, 8)}`,
  recreated: `consumer.recreated.${randomUUID().slice(0, 8)}`,
};

describe('KafkaEventLog group members on a real broker', () => {
  let cluster: KafkaTestCluster;
  let kafka: Kafka;
  const logs: KafkaEventLog[] = [];
  const handles: ConsumerHandle[] = [];
  const open = (extra: Partial<KafkaEventLogOptions> = {}) => {
    const log = new KafkaEventLog({ brokers: cluster.brokers, clientId: 'consumer-spec', logger, ...FAST_GROUP, ...extra });
    logs.push(log);
    return log;
  };

  beforeAll(async () => {
    cluster = await startKafkaForTests([
      { name: topics.startsAt, partitions: 1 },
      { name: topics.staleSeek, partitions: 2 },
      { name: topics.rebalance, partitions: 1 },
      { name: topics.fatal, partitions: 1 },
      { name: topics.recreated, partitions: 1 },
    ]);
    kafka = new Kafka({ brokers: cluster.brokers, clientId: 'consumer-spec-raw', logLevel: logLevel.NOTHING });
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(handles.map((h) => h.stop()));
    await Promise.allSettled(logs.map((l) => l.close()));
    await cluster?.stop();
  });

  it('given a checkpoint below the log start (retention) and a group commit ahead of it, then the member starts at the first retained record, not at the group commit', async () => {
    const log = open();
    const topic = topics.startsAt;
    const groupId = `g-start-${randomUUID()}`;
    await log.produce(topic, Array.from({ length: 30 }, (_, i) => ({ key: 'k', value: `r${i}`, partition: 0 })));
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.fetchTopicMetadata({ topics: [topic] });
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '10' }] }); // retention: 0..9 are gone
    } finally {
      await admin.disconnect();
    }
    await log.seek(groupId, topic, [{ partition: 0, offset: 25 }]); // the group's commit says "25"

    const seen: number[] = [];
    handles.push(
      await log.consume({
        groupId,
        topics: [topic],
        resolveStartOffset: async () => 0, // no checkpoint row: the log's beginning
        handleBatch: async (b) => void seen.push(...b.records.map((r) => r.offset)),
      }),
    );
    await waitFor('all retained records', () => seen.length >= 20);
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => 10 + i));
  }, 45_000);

  it('given a checkpoint beyond the log end (the log was recreated), then no record is handed on to be skipped and the member fails naming the partition', async () => {
    const log = open();
    const topic = topics.recreated;
    await log.produce(topic, Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: `new${i}`, partition: 0 })));
    const handled: number[] = [];
    const fatal: Error[] = [];
    handles.push(
      await log.consume({
        groupId: `g-recreated-${randomUUID()}`,
        topics: [topic],
        resolveStartOffset: async () => 50, // the database applied 50 records of the old log
        handleBatch: async (b) => void handled.push(...b.records.map((r) => r.offset)),
        onFatal: (e) => fatal.push(e),
      }),
    );
    await waitFor('onFatal', () => fatal.length > 0);
    expect(fatal[0].message).toBe(
      `Kafka partition ${topic}/0 restarts at offset 0, below the application checkpoint 50: the log was truncated or recreated. ` +
        'Nothing is skipped; restore the log or rebuild the projections (replay).',
    );
    await sleep(500);
    expect(handled).toEqual([]);
    await expect(log.ping()).rejects.toThrow(/below the application checkpoint 50/);
  }, 45_000);

  it('given a start-offset lookup still pending when the group rebalances, then the member rejoins at once and the late answer of the old generation does not move the partition', async () => {
    const topic = topics.staleSeek;
    const groupId = `g-stale-${randomUUID()}`;
    const a = open();
    await a.produce(topic, [0, 1].flatMap((partition) => Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: `p${partition}r${i}`, partition }))));

    const firstLookups = new Map<number, ReturnType<typeof deferred<number>>>();
    const lookupsOfA: Array<{ partition: number; at: number }> = [];
    const seenByA = new Map<number, number[]>();
    handles.push(
      await a.consume({
        groupId,
        topics: [topic],
        resolveStartOffset: async (_t, partition) => {
          lookupsOfA.push({ partition, at: Date.now() });
          if (!firstLookups.has(partition)) {
            const d = deferred<number>();
            firstLookups.set(partition, d);
            return d.promise; // the first generation's lookup hangs (database slow)
          }
          return 5; // later generations: the checkpoint moved to 5
        },
        handleBatch: async (b) => void seenByA.set(b.partition, [...(seenByA.get(b.partition) ?? []), ...b.records.map((r) => r.offset)]),
      }),
    );
    await waitFor('both first lookups of A', () => firstLookups.size === 2);

    const seenByB = new Map<number, number[]>();
    const b = open();
    const joinStarted = Date.now();
    const handleB = await b.consume({
      groupId,
      topics: [topic],
      resolveStartOffset: async () => 0,
      handleBatch: async (batch) => void seenByB.set(batch.partition, [...(seenByB.get(batch.partition) ?? []), ...batch.records.map((r) => r.offset)]),
    });
    handles.push(handleB);
    // B's join completed although A's lookups never answered: A did not hold the rebalance hostage.
    expect(Date.now() - joinStarted).toBeLessThan(15_000);
    const handleA = handles[handles.length - 2];
    const [aPartition] = await waitFor('A and B own one partition each', () => {
      const [ofA] = handleA.assignments().map((x) => x.partitions);
      const [ofB] = handleB.assignments().map((x) => x.partitions);
      return ofA?.length === 1 && ofB?.length === 1 && ofA[0] !== ofB[0] && ofA;
    });
    await waitFor('the lookup of the new generation', () => lookupsOfA.some((l) => l.partition === aPartition && l.at >= joinStarted));
    await waitFor('A applies from 5', () => (seenByA.get(aPartition)?.length ?? 0) >= 5);
    // Now the first generation's lookups answer "0": too late, they must not rewind the partition.
    for (const d of firstLookups.values()) d.resolve(0);
    await sleep(1_500);
    expect(seenByA.get(aPartition)).toEqual([5, 6, 7, 8, 9]);
    expect(seenByB.get(1 - aPartition)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  }, 60_000);

  it('given a batch in flight when another member joins, then the batch stops after the current chunk, commits nothing after it, and the next owner resumes from the application checkpoint: nothing lost, nothing applied twice', async () => {
    const topic = topics.rebalance;
    const groupId = `g-rebal-${randomUUID()}`;
    const a = open();
    const total = 40;
    await a.produce(topic, Array.from({ length: total }, (_, i) => ({ key: 'k', value: `r${i}`, partition: 0 })));

    // The application's checkpoint (its database): next offset per partition, and every apply.
    let checkpoint = 0;
    const applied: Array<{ member: string; offset: number; at: number }> = [];
    const apply = (member: string, delayMs: number) => async (batch: RecordBatch) => {
      await sleep(delayMs);
      for (const r of batch.records) {
        if (r.offset < checkpoint) continue; // already applied: the checkpoint fences redelivery
        if (r.offset > checkpoint) throw new Error(`gap: ${r.offset} after checkpoint ${checkpoint}`);
        applied.push({ member, offset: r.offset, at: Date.now() });
        checkpoint = r.offset + 1;
      }
    };
    const handleA = await a.consume({
      groupId,
      topics: [topic],
      maxBatchRecords: 2,
      resolveStartOffset: async () => checkpoint,
      handleBatch: apply('A', 400), // 20 chunks of 2: a ~8 s batch
    });
    handles.push(handleA);
    await waitFor('A in the middle of its batch', () => applied.length >= 4);

    const b = open();
    const joinStarted = Date.now();
    handles.push(
      await b.consume({ groupId, topics: [topic], maxBatchRecords: 100, resolveStartOffset: async () => checkpoint, handleBatch: apply('B', 0) }),
    );
    const joinedAfterMs = Date.now() - joinStarted;
    const appliedByAAfterJoinStarted = applied.filter((x) => x.member === 'A' && x.at > joinStarted).length;
    // A stopped between chunks: a rebalance waited for one chunk (plus a heartbeat), not the whole batch.
    expect(appliedByAAfterJoinStarted).toBeLessThanOrEqual(4);
    expect(joinedAfterMs).toBeLessThan(5_000);

    await waitFor('every record applied', () => checkpoint === total, 30_000);
    expect(applied.map((x) => x.offset)).toEqual(Array.from({ length: total }, (_, i) => i));
    // The group's offset never runs ahead of the checkpoint.
    await handleA.stop();
    const [lag] = await a.lag(groupId, topic);
    expect(lag.committed).toBeLessThanOrEqual(checkpoint);
  }, 60_000);

  it('given a member KafkaJS will not restart (the group refuses its protocol), then onFatal is called once and ping rejects', async () => {
    const topic = topics.fatal;
    const groupId = `g-fatal-${randomUUID()}`;
    // A member of another kind holds the group with a partition assignor ours does not speak:
    // the broker answers our JoinGroup INCONSISTENT_GROUP_PROTOCOL, which KafkaJS does not retry.
    const foreignAssigner: PartitionAssigner = (config) => {
      const roundRobin = PartitionAssigners.roundRobin(config);
      return {
        ...roundRobin,
        name: 'ForeignAssigner',
        protocol: ({ topics: t }) => ({ name: 'ForeignAssigner', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics: t, userData: Buffer.alloc(0) }) }),
      };
    };
    const foreign: Consumer = kafka.consumer({ groupId, partitionAssigners: [foreignAssigner], sessionTimeout: 6_000, heartbeatInterval: 300 });
    await foreign.connect();
    await foreign.subscribe({ topics: [topic] });
    const joined = new Promise<void>((resolve) => foreign.on(foreign.events.GROUP_JOIN, () => resolve()));
    await foreign.run({ eachBatch: async () => undefined });
    await joined;
    try {
      const log = open();
      await log.ping(); // the broker answers: ready so far
      const fatal: Error[] = [];
      const handle = await log
        .consume({ groupId, topics: [topic], handleBatch: async () => undefined, onFatal: (e) => fatal.push(e) })
        .catch((e: Error) => e);
      if (!(handle instanceof Error)) handles.push(handle);
      await waitFor('onFatal', () => fatal.length > 0);
      await sleep(1_000);
      expect(fatal).toHaveLength(1);
      expect(fatal[0].message).toMatch(new RegExp(`group ${groupId} stopped for good .*INCONSISTENT_GROUP_PROTOCOL`));
      await expect(log.ping()).rejects.toThrow(/not ready: Kafka consumer of group .* stopped for good/);
      if (!(handle instanceof Error)) expect(handle.assignments()).toEqual([]);
    } finally {
      await foreign.disconnect();
    }
  }, 45_000);
});
