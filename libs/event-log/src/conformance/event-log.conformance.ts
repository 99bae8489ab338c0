import { randomBytes } from 'node:crypto';
import type { ConsumeOptions, ConsumerHandle, EventLog, LogRecord, LogRecordInput, ProducedRecord, RecordBatch } from '../event-log.port';
import { partitionForKey } from '../partitioner';

/**
 * The one behavioural suite both EventLog adapters must pass (DESIGN §1). Call it from an adapter's
 * int-spec with a harness for that backend.
 */
export interface EventLogConformanceHarness {
  /** A fresh adapter instance on the same backend (the suite closes it after each case). */
  create(): Promise<EventLog>;
  /** Topic name for a base of CONFORMANCE_TOPICS; distinct per base, and each base is used by one case only. */
  topicName(base: string): string;
  limits?: {
    /** Records in the produce → consume round trip. Default 10,000. */
    roundTripRecords?: number;
    /** false: the topics of CONFORMANCE_TOPICS already exist (declared up front) and ensureTopics is not called. */
    canCreateTopics?: boolean;
    /** false: the backend cannot make records deletable (the go-mokapi mock has no topic configs); the redaction case is skipped. */
    redaction?: boolean;
  };
  setup?: () => Promise<void>;
  teardown?: () => Promise<void>;
}

/** Every topic the suite uses (base name → partitions), so a harness that cannot create topics can declare them. */
export const CONFORMANCE_TOPICS: ReadonlyArray<{ base: string; partitions: number }> = [
  { base: 'order', partitions: 3 },
  { base: 'round-trip', partitions: 4 },
  { base: 'resume', partitions: 2 },
  { base: 'retry', partitions: 1 },
  { base: 'replay', partitions: 2 },
  { base: 'start-offset', partitions: 2 },
  { base: 'from-end', partitions: 1 },
  { base: 'share', partitions: 4 },
  { base: 'offline', partitions: 2 },
  { base: 'offsets', partitions: 3 },
  { base: 'scan', partitions: 2 },
  { base: 'redact', partitions: 2 },
];

/** Compaction settings of the redaction case's topic (Kafka): small, so a broker compacts it soon. */
export const CONFORMANCE_DELETABLE = { maxCompactionLagMs: 1_000, segmentMs: 1_000, minCleanableDirtyRatio: 0.01, deleteRetentionMs: 1_000 };

// ------------------------------------------------------------------ helpers (exported for adapter-specific tests)

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const recordId = (r: { partition: number; offset: number }) => `${r.partition}:${r.offset}`;

/** Collects what a consumer was handed; optionally slows or fails batches. */
export class BatchCollector {
  readonly batches: RecordBatch[] = [];
  readonly records: LogRecord[] = [];
  constructor(private readonly behaviour: { delayMs?: number; before?: (batch: RecordBatch, call: number) => void | Promise<void> } = {}) {}

  readonly handleBatch = async (batch: RecordBatch): Promise<void> => {
    const call = this.calls++;
    if (this.behaviour.delayMs) await new Promise((r) => setTimeout(r, this.behaviour.delayMs));
    await this.behaviour.before?.(batch, call);
    this.batches.push(batch);
    this.records.push(...batch.records);
  };
  private calls = 0;

  ids(): Set<string> {
    return new Set(this.records.map(recordId));
  }
  values(): string[] {
    return this.records.map((r) => r.value.toString('utf8'));
  }
  /** Records delivered more than once. */
  duplicates(): number {
    return this.records.length - this.ids().size;
  }
}

const flatAssignments = (h: ConsumerHandle) => h.assignments().flatMap((a) => a.partitions.map((p) => `${a.topic}/${p}`));

// ------------------------------------------------------------------ the suite

export function describeEventLogConformance(engineName: string, harness: EventLogConformanceHarness): void {
  const canCreateTopics = harness.limits?.canCreateTopics ?? true;
  const roundTripRecords = harness.limits?.roundTripRecords ?? 10_000;
  const run = randomBytes(4).toString('hex');
  const opened: EventLog[] = [];

  describe(`EventLog conformance: ${engineName}`, () => {
    if (harness.setup) beforeAll(() => harness.setup!());
    if (harness.teardown) afterAll(() => harness.teardown!());
    afterEach(async () => {
      const logs = opened.splice(0);
      await Promise.all(logs.map((l) => l.close()));
    });

    async function open(): Promise<EventLog> {
      const log = await harness.create();
      opened.push(log);
      return log;
    }

    /** The topic of a base, created (when the harness can) with its declared partition count. */
    async function topicFor(log: EventLog, base: string): Promise<{ name: string; partitions: number }> {
      const spec = CONFORMANCE_TOPICS.find((t) => t.base === base);
      if (!spec) throw new Error(`unknown conformance topic base ${base}`);
      const name = harness.topicName(base);
      const deletable = base === 'redact' ? CONFORMANCE_DELETABLE : undefined;
      if (canCreateTopics) await log.ensureTopics([{ name, partitions: spec.partitions, retentionMs: -1, deletable }]);
      return { name, partitions: spec.partitions };
    }

    const group = (what: string) => `conformance.${what}.${run}.${randomBytes(3).toString('hex')}`;

    function consume(log: EventLog, options: Omit<ConsumeOptions, 'handleBatch'>, collector: BatchCollector): Promise<ConsumerHandle> {
      return log.consume({ ...options, handleBatch: collector.handleBatch });
    }

    /** Batch invariants, checked without one expect() per record (10,000 records must stay fast). */
    function checkBatchShape(batches: RecordBatch[], topic: string): void {
      const problems: string[] = [];
      for (const b of batches) {
        const at = `batch ${b.topic}/${b.partition}@${b.records[0]?.offset}`;
        if (b.topic !== topic) problems.push(`${at}: topic`);
        if (b.records.length === 0) problems.push(`${at}: empty`);
        b.records.forEach((r, i) => {
          if (r.topic !== topic || r.partition !== b.partition) problems.push(`${at}: record ${r.offset} of ${r.topic}/${r.partition}`);
          if (i > 0 && r.offset <= b.records[i - 1]!.offset) problems.push(`${at}: offset ${r.offset} out of order`);
          if (!Buffer.isBuffer(r.value)) problems.push(`${at}: value of ${r.offset} is not a Buffer`);
          if (Number.isNaN(Date.parse(r.timestamp))) problems.push(`${at}: timestamp ${r.timestamp}`);
        });
        const last = b.records[b.records.length - 1];
        if (last && b.highWatermark < last.offset + 1) problems.push(`${at}: highWatermark ${b.highWatermark} below ${last.offset + 1}`);
      }
      expect(problems.slice(0, 20)).toEqual([]);
    }

    it('answers ping, creates topics idempotently, keeps per-key order and partitions keys like Kafka', async () => {
      const log = await open();
      await expect(log.ping()).resolves.toBeUndefined();
      const topic = await topicFor(log, 'order');
      if (canCreateTopics) {
        // Idempotent, and an existing topic keeps its shape.
        await log.ensureTopics([{ name: topic.name, partitions: topic.partitions + 5 }]);
        expect((await log.endOffsets(topic.name)).map((e) => e.partition)).toEqual([0, 1, 2]);
      }
      const keys = Array.from({ length: 12 }, (_, i) => `tenant-${i % 3}:user${i}@example.com`);
      const produced: Array<ProducedRecord & { key: string; seq: number }> = [];
      for (let round = 0; round < 5; round++) {
        const batch: LogRecordInput[] = [];
        for (let j = 0; j < 3; j++) for (const key of keys) batch.push({ key, value: JSON.stringify({ key, seq: round * 3 + j }) });
        const result = await log.produce(topic.name, batch);
        expect(result).toHaveLength(batch.length);
        result.forEach((r, i) => {
          expect(r.topic).toBe(topic.name);
          produced.push({ ...r, key: batch[i]!.key, seq: JSON.parse(batch[i]!.value as string).seq });
        });
      }
      for (const key of keys) {
        const mine = produced.filter((p) => p.key === key);
        // Same partition as Kafka's default partitioner, offsets in produce order.
        expect(new Set(mine.map((p) => p.partition))).toEqual(new Set([partitionForKey(key, topic.partitions)]));
        for (let i = 1; i < mine.length; i++) expect(mine[i]!.offset).toBeGreaterThan(mine[i - 1]!.offset);
      }
      // An explicit partition wins over the key.
      const forced = (partitionForKey(keys[0]!, topic.partitions) + 1) % topic.partitions;
      const [explicit] = await log.produce(topic.name, [{ key: keys[0]!, value: 'explicit', partition: forced }]);
      expect(explicit!.partition).toBe(forced);

      const collector = new BatchCollector();
      const consumer = await consume(log, { groupId: group('order'), topics: [topic.name], maxBatchRecords: 7 }, collector);
      await waitFor(() => collector.ids().size === produced.length + 1, `${produced.length + 1} records`);
      await consumer.stop();
      checkBatchShape(collector.batches, topic.name);
      for (const key of keys) {
        const seqs = collector.records.filter((r) => r.key === key && r.value.toString() !== 'explicit').map((r) => JSON.parse(r.value.toString()).seq);
        expect(seqs).toEqual(Array.from({ length: 15 }, (_, i) => i));
      }
    });

    it(`round-trips ${roundTripRecords} records with none lost or duplicated`, async () => {
      const log = await open();
      const topic = await topicFor(log, 'round-trip');
      const inputs: LogRecordInput[] = Array.from({ length: roundTripRecords }, (_, i) => ({
        key: `tenant:key-${i % 997}`,
        value: JSON.stringify({ i, pad: 'x'.repeat(64) }),
        headers: i % 10 === 0 ? { 'content-type': 'application/json', n: String(i) } : undefined,
      }));
      const chunk = Math.min(500, Math.max(1, Math.ceil(roundTripRecords / 4)));
      const chunks: LogRecordInput[][] = [];
      for (let i = 0; i < inputs.length; i += chunk) chunks.push(inputs.slice(i, i + chunk));
      const produced: ProducedRecord[] = [];
      for (let i = 0; i < chunks.length; i += 4) {
        const results = await Promise.all(chunks.slice(i, i + 4).map((c) => log.produce(topic.name, c)));
        for (const r of results) produced.push(...r);
      }
      expect(produced).toHaveLength(roundTripRecords);
      expect(new Set(produced.map(recordId)).size).toBe(roundTripRecords);

      const collector = new BatchCollector();
      const consumer = await consume(log, { groupId: group('round-trip'), topics: [topic.name] }, collector);
      await waitFor(() => collector.records.length >= roundTripRecords, `${roundTripRecords} records`, 60_000);
      await consumer.stop();
      expect(collector.duplicates()).toBe(0);
      expect(collector.records).toHaveLength(roundTripRecords);
      checkBatchShape(collector.batches, topic.name);
      const byValue = new Map(collector.records.map((r) => [JSON.parse(r.value.toString()).i as number, r]));
      const problems: string[] = [];
      for (let i = 0; i < roundTripRecords; i++) {
        const r = byValue.get(i);
        const input = inputs[i]!;
        if (!r) problems.push(`record ${i} missing`);
        else if (recordId(r) !== recordId(produced[i]!)) problems.push(`record ${i} at ${recordId(r)}, produced at ${recordId(produced[i]!)}`);
        else if (r.key !== input.key) problems.push(`record ${i} key ${r.key}`);
        else if (input.headers && Object.entries(input.headers).some(([k, v]) => r.headers[k] !== v)) problems.push(`record ${i} headers ${JSON.stringify(r.headers)}`);
      }
      expect(problems.slice(0, 20)).toEqual([]);
    });

    it('resumes exactly after the last commit when a consumer is stopped and restarted', async () => {
      const log = await open();
      const topic = await topicFor(log, 'resume');
      const produced = await log.produce(
        topic.name,
        Array.from({ length: 100 }, (_, i) => ({ key: `k${i % 10}`, value: `resume-${i}` })),
      );
      const groupId = group('resume');
      const first = new BatchCollector({ delayMs: 10 });
      const a = await consume(log, { groupId, topics: [topic.name], maxBatchRecords: 5 }, first);
      await waitFor(() => first.records.length >= 30, '30 records before the stop');
      await a.stop();
      const handled = first.records.length;
      // stop() let the in-flight batch finish and commit: committed = last handled + 1 per partition.
      const lag = await log.lag(groupId, topic.name);
      for (const l of lag) {
        const mine = first.records.filter((r) => r.partition === l.partition).map((r) => r.offset);
        if (mine.length > 0) expect(l.committed).toBe(Math.max(...mine) + 1);
      }
      await new Promise((r) => setTimeout(r, 200));
      expect(first.records.length).toBe(handled); // nothing handled after stop()

      const second = new BatchCollector();
      const b = await consume(log, { groupId, topics: [topic.name], maxBatchRecords: 5 }, second);
      await waitFor(() => first.ids().size + second.ids().size >= produced.length, 'the rest of the records');
      await b.stop();
      expect(first.duplicates()).toBe(0);
      expect(second.duplicates()).toBe(0);
      const before = first.ids();
      expect(second.records.filter((r) => before.has(recordId(r)))).toEqual([]);
      expect(new Set([...before, ...second.ids()])).toEqual(new Set(produced.map(recordId)));
      for (const l of lag) {
        const resumed = second.records.filter((r) => r.partition === l.partition);
        const committedOffset = Math.max(l.committed, Math.min(...produced.filter((p) => p.partition === l.partition).map((p) => p.offset)));
        if (resumed.length > 0) expect(resumed[0]!.offset).toBe(committedOffset);
      }
    });

    it('redelivers the same records after a handler error, without skipping', async () => {
      const log = await open();
      const topic = await topicFor(log, 'retry');
      const produced = await log.produce(topic.name, Array.from({ length: 5 }, (_, i) => ({ key: 'same', value: `retry-${i}` })));
      const attempts: Array<{ at: number; offsets: number[] }> = [];
      const collector = new BatchCollector({
        before: (batch, call) => {
          attempts.push({ at: Date.now(), offsets: batch.records.map((r) => r.offset) });
          if (call === 0) throw new Error('handler failure (test)');
        },
      });
      const groupId = group('retry');
      const consumer = await consume(log, { groupId, topics: [topic.name] }, collector);
      await waitFor(() => collector.ids().size === produced.length, 'the records after the retry');
      await consumer.stop();
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      expect(attempts[1]!.offsets[0]).toBe(attempts[0]!.offsets[0]);
      expect(attempts[1]!.offsets).toEqual(expect.arrayContaining(attempts[0]!.offsets));
      // The port's back-off starts at 1 s.
      expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(800);
      expect(collector.values()).toEqual(produced.map((_, i) => `retry-${i}`));
      const [lag] = await log.lag(groupId, topic.name);
      expect(lag!.lag).toBe(0);
    });

    it('replays everything under a new group and after seek to the beginning; seek to the end skips', async () => {
      const log = await open();
      const topic = await topicFor(log, 'replay');
      const produced = await log.produce(topic.name, Array.from({ length: 40 }, (_, i) => ({ key: `r${i % 7}`, value: `replay-${i}` })));
      const all = new Set(produced.map(recordId));
      const groupId = group('replay');

      const runOnce = async (g: string, expected: number) => {
        const c = new BatchCollector();
        const h = await consume(log, { groupId: g, topics: [topic.name] }, c);
        await waitFor(() => c.ids().size >= expected, `${expected} records for ${g}`);
        await h.stop();
        expect(c.duplicates()).toBe(0);
        return c;
      };
      expect((await runOnce(groupId, 40)).ids()).toEqual(all);
      expect((await runOnce(group('replay-new'), 40)).ids()).toEqual(all);
      await log.seek(groupId, topic.name, 'beginning');
      expect((await runOnce(groupId, 40)).ids()).toEqual(all);

      await log.seek(groupId, topic.name, 'end');
      expect((await log.lag(groupId, topic.name)).every((l) => l.lag === 0)).toBe(true);
      const later = await log.produce(topic.name, [0, 1, 2].map((i) => ({ key: `late${i}`, value: `late-${i}` })));
      const afterEnd = await runOnce(groupId, 3);
      expect(afterEnd.ids()).toEqual(new Set(later.map(recordId)));
    });

    it('honours resolveStartOffset, then the group offset', async () => {
      const log = await open();
      const topic = await topicFor(log, 'start-offset');
      const p0 = await log.produce(topic.name, Array.from({ length: 20 }, (_, i) => ({ key: 'a', value: `p0-${i}`, partition: 0 })));
      const p1 = await log.produce(topic.name, Array.from({ length: 20 }, (_, i) => ({ key: 'b', value: `p1-${i}`, partition: 1 })));
      const groupId = group('start-offset');
      await log.seek(groupId, topic.name, [{ partition: 1, offset: p1[5]!.offset }]);
      const asked: string[] = [];
      const collector = new BatchCollector();
      const consumer = await log.consume({
        groupId,
        topics: [topic.name],
        handleBatch: collector.handleBatch,
        // The application's own checkpoint wins for partition 0; partition 1 falls back to the group's offset.
        resolveStartOffset: async (t, partition) => {
          asked.push(`${t}/${partition}`);
          return partition === 0 ? p0[15]!.offset : undefined;
        },
      });
      await waitFor(() => collector.ids().size >= 5 + 15, '20 records');
      await consumer.stop();
      expect(asked.sort()).toEqual([`${topic.name}/0`, `${topic.name}/1`]);
      expect(collector.values().filter((v) => v.startsWith('p0-'))).toEqual(Array.from({ length: 5 }, (_, i) => `p0-${15 + i}`));
      expect(collector.values().filter((v) => v.startsWith('p1-'))).toEqual(Array.from({ length: 15 }, (_, i) => `p1-${5 + i}`));
    });

    it('starts a new group at the end when fromBeginning is false', async () => {
      const log = await open();
      const topic = await topicFor(log, 'from-end');
      await log.produce(topic.name, Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: `old-${i}` })));
      const collector = new BatchCollector();
      const consumer = await consume(log, { groupId: group('from-end'), topics: [topic.name], fromBeginning: false }, collector);
      // Keep producing until the consumer (whose start position is settled at some point) sees new ones.
      let n = 0;
      await waitFor(
        async () => {
          await log.produce(topic.name, [{ key: 'k', value: `new-${n++}` }]);
          return collector.records.length >= 3;
        },
        'records produced after the start',
        30_000,
        200,
      );
      await consumer.stop();
      expect(collector.values().filter((v) => v.startsWith('old-'))).toEqual([]);
      expect(collector.duplicates()).toBe(0);
    });

    it('shares partitions between two members of a group, and the survivor takes over', async () => {
      const log = await open();
      const other = await open();
      const topic = await topicFor(log, 'share');
      const maxBatchRecords = 10;
      const produced = await log.produce(topic.name, Array.from({ length: 200 }, (_, i) => ({ key: `s${i % 50}`, value: `share-${i}` })));
      const groupId = group('share');
      const ca = new BatchCollector({ delayMs: 20 });
      const cb = new BatchCollector({ delayMs: 20 });
      const a = await consume(log, { groupId, topics: [topic.name], maxBatchRecords }, ca);
      const b = await consume(other, { groupId, topics: [topic.name], maxBatchRecords }, cb);
      const everything = Array.from({ length: topic.partitions }, (_, p) => `${topic.name}/${p}`);
      await waitFor(() => {
        const x = flatAssignments(a);
        const y = flatAssignments(b);
        return x.length > 0 && y.length > 0 && x.length + y.length === topic.partitions && new Set([...x, ...y]).size === topic.partitions;
      }, 'both members to own a share of the partitions');
      expect(new Set([...flatAssignments(a), ...flatAssignments(b)])).toEqual(new Set(everything));

      await a.stop();
      await waitFor(() => flatAssignments(b).length === topic.partitions, 'the survivor to own every partition');
      const more = await log.produce(topic.name, Array.from({ length: 100 }, (_, i) => ({ key: `s${i % 50}`, value: `share-late-${i}` })));
      const expected = new Set([...produced, ...more].map(recordId));
      const seen = () => new Set([...ca.ids(), ...cb.ids()]);
      await waitFor(() => [...expected].every((id) => seen().has(id)), 'every record by one member or the other');
      await b.stop();
      // A clean hand-over may redeliver at most an uncommitted batch per partition; nothing is lost.
      expect(ca.records.length + cb.records.length - expected.size).toBeLessThanOrEqual(topic.partitions * maxBatchRecords);
      expect(cb.records.some((r) => r.value.toString().startsWith('share-late-'))).toBe(true);
    });

    it('consumes records produced while no consumer was running', async () => {
      const log = await open();
      const topic = await topicFor(log, 'offline');
      const groupId = group('offline');
      const early = await log.produce(topic.name, Array.from({ length: 10 }, (_, i) => ({ key: `o${i}`, value: `early-${i}` })));
      const first = new BatchCollector();
      const a = await consume(log, { groupId, topics: [topic.name] }, first);
      await waitFor(() => first.ids().size >= early.length, 'the early records');
      await a.stop();

      const late = await log.produce(topic.name, Array.from({ length: 20 }, (_, i) => ({ key: `o${i}`, value: `late-${i}` })));
      expect((await log.lag(groupId, topic.name)).reduce((n, l) => n + l.lag, 0)).toBe(late.length);
      const second = new BatchCollector();
      const b = await consume(log, { groupId, topics: [topic.name] }, second);
      await waitFor(() => second.ids().size >= late.length, 'the records produced while offline');
      await b.stop();
      expect(second.ids()).toEqual(new Set(late.map(recordId)));
      expect(second.duplicates()).toBe(0);
    });

    it('scans a topic from its beginning up to the end offsets, in offset order, without any group commit', async () => {
      const log = await open();
      const topic = await topicFor(log, 'scan');
      const produced = await log.produce(topic.name, Array.from({ length: 30 }, (_, i) => ({ key: `scan-${i}`, value: `scan-${i}`, headers: { n: String(i) } })));
      const until = await log.endOffsets(topic.name);
      await log.produce(topic.name, [0, 1].map((i) => ({ key: `after-${i}`, value: `after-${i}` })));
      const batches: RecordBatch[] = [];
      const result = await log.scan(topic.name, async (b) => void batches.push(b), { until, maxBatchRecords: 4 });
      const seen = batches.flatMap((b) => b.records);
      expect(result).toEqual({ records: produced.length, until });
      expect(new Set(seen.map(recordId))).toEqual(new Set(produced.map(recordId)));
      expect(seen.some((r) => r.value.toString().startsWith('after-'))).toBe(false);
      checkBatchShape(batches, topic.name);
      expect(batches.every((b) => b.records.length <= 4)).toBe(true);
      expect(seen.find((r) => r.key === 'scan-7')?.headers.n).toBe('7');
      // Default bound: the end offsets when the scan starts (the two later records included now).
      const all = await log.scan(topic.name, async () => undefined);
      expect(all.records).toBe(produced.length + 2);
    });

    (harness.limits?.redaction === false ? it.skip : it)('redacts records: rewritten in place (Postgres log) or tombstoned by key (Kafka)', async () => {
      const log = await open();
      const topic = await topicFor(log, 'redact');
      const produced = await log.produce(
        topic.name,
        Array.from({ length: 8 }, (_, i) => ({ key: `record-${i}`, partitionKey: `person-${i % 3}`, value: `secret-${i}`, headers: { schema: 'test.v1' } })),
      );
      const targets = [1, 4, 6].map((i) => ({ partition: produced[i]!.partition, offset: produced[i]!.offset, key: `record-${i}`, value: `redacted-${i}` }));
      const result = await log.redact(topic.name, targets);
      const read = async () => {
        const records: LogRecord[] = [];
        await log.scan(topic.name, async (b) => void records.push(...b.records));
        return records;
      };
      const after = await read();
      if (log.engine === 'postgres') {
        expect(result).toEqual({ rewritten: 3, tombstones: 0 });
        const byKey = new Map(after.map((r) => [r.key, r]));
        for (const i of [1, 4, 6]) {
          expect(byKey.get(`record-${i}`)?.value.toString()).toBe(`redacted-${i}`);
          expect(byKey.get(`record-${i}`)?.headers).toEqual({ schema: 'test.v1' }); // headers kept
        }
        expect(after.filter((r) => r.value.toString().startsWith('secret-')).map((r) => r.key).sort()).toEqual(
          [0, 2, 3, 5, 7].map((i) => `record-${i}`),
        );
        expect(after).toHaveLength(8); // offsets stay
      } else {
        expect(result).toEqual({ rewritten: 0, tombstones: 3 });
        const tombstones = after.filter((r) => r.tombstone);
        expect(tombstones.map((t) => `${t.key}@${t.partition}`).sort()).toEqual(targets.map((t) => `${t.key}@${t.partition}`).sort());
        expect(tombstones.every((t) => t.value.length === 0)).toBe(true);
      }
      // A consumer sees the same: a tombstone is flagged, a rewritten record carries its new value.
      const collector = new BatchCollector();
      const consumer = await consume(log, { groupId: group('redact'), topics: [topic.name] }, collector);
      await waitFor(() => collector.records.length >= after.length, 'the redacted topic');
      await consumer.stop();
      expect(collector.records.filter((r) => r.tombstone).length).toBe(log.engine === 'postgres' ? 0 : 3);
      expect(collector.values().filter((v) => v.startsWith('redacted-')).length).toBe(log.engine === 'postgres' ? 3 : 0);
    });

    it('reports end offsets and lag', async () => {
      const log = await open();
      const topic = await topicFor(log, 'offsets');
      const start = await log.endOffsets(topic.name);
      expect(start.map((e) => e.partition)).toEqual([0, 1, 2]);
      const base = start.map((e) => e.offset);
      await log.produce(topic.name, Array.from({ length: 3 }, (_, i) => ({ key: 'x', value: `a${i}`, partition: 0 })));
      await log.produce(topic.name, Array.from({ length: 5 }, (_, i) => ({ key: 'y', value: `c${i}`, partition: 2 })));
      const ends = await log.endOffsets(topic.name);
      expect(ends).toEqual([
        { partition: 0, offset: base[0]! + 3 },
        { partition: 1, offset: base[1]! },
        { partition: 2, offset: base[2]! + 5 },
      ]);
      const groupId = group('offsets');
      const before = await log.lag(groupId, topic.name);
      expect(before.map((l) => l.end)).toEqual(ends.map((e) => e.offset));
      expect(before.map((l) => l.lag)).toEqual(before.map((l) => l.end - l.committed));

      const collector = new BatchCollector();
      const consumer = await consume(log, { groupId, topics: [topic.name] }, collector);
      await waitFor(() => collector.ids().size >= 8, '8 records');
      await consumer.stop();
      const caughtUp = await log.lag(groupId, topic.name);
      expect(caughtUp).toEqual(ends.map((e) => ({ partition: e.partition, committed: e.offset, end: e.offset, lag: 0 })));

      await log.produce(topic.name, [{ key: 'z', value: 'b0', partition: 1 }, { key: 'z', value: 'b1', partition: 1 }]);
      const behind = await log.lag(groupId, topic.name);
      expect(behind[1]).toEqual({ partition: 1, committed: base[1]!, end: base[1]! + 2, lag: 2 });
      expect(behind[0]!.lag + behind[2]!.lag).toBe(0);
    });
  });
}
