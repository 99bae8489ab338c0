import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { ConsumeOptions, ConsumerHandle, LogRecord, RecordBatch } from '../event-log.port';
import { describe, rebalancingCause } from './kafka-errors';
import type { KafkaEventLogLogger } from './kafka-logger';

export interface HandlerBackoff {
  initialMs: number;
  maxMs: number;
}

interface Deps {
  consumer: Consumer;
  options: ConsumeOptions;
  logger: KafkaEventLogLogger;
  backoff: HandlerBackoff;
  heartbeatIntervalMs: number;
  /** Called after every successful commit, so the adapter knows committed offsets without asking the broker. */
  onCommitted: (groupId: string, topic: string, partition: number, nextOffset: number) => void;
  onStopped: (handle: KafkaConsumerHandle) => void;
  /** Called once when KafkaJS will not restart this member (the adapter then fails readiness). */
  onFatal: (handle: KafkaConsumerHandle, error: Error) => void;
}

/** One eachBatch call: the membership generation it belongs to and a rebalance a heartbeat reported. */
interface BatchRun {
  generation: number;
  rebalance?: unknown;
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One group member: KafkaJS eachBatch with manual commits. Handler errors never reach KafkaJS (its
 * retrier would restart the whole fetch loop and, after its retries, crash the consumer); instead the
 * failing partition is sought back to the batch start and paused for the back-off, others go on.
 */
export class KafkaConsumerHandle implements ConsumerHandle {
  private readonly consumer: Consumer;
  private readonly options: ConsumeOptions;
  private readonly logger: KafkaEventLogLogger;
  private readonly maxBatchRecords: number;
  private assigned = new Map<string, number[]>();
  /**
   * Counts group joins. A seek, commit or batch of an older generation must not act on partitions the
   * group may have given to another member since (KafkaJS sends every commit with the newest generation id).
   */
  private generation = 0;
  /** Set when KafkaJS gave this member up for good. */
  private fatalError: Error | null = null;
  /** Per partition: resolveStartOffset + seek of the current generation, awaited before its batches run. */
  private readonly starting = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, number>();
  /** Per partition: the offset the last seek asked for; the first batch after it must not start below. */
  private readonly expectedStart = new Map<string, number>();
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  /** Partitions whose last commit failed (non-rebalance); retried on the next batch or at stop. */
  private readonly uncommitted = new Map<string, { topic: string; partition: number; offset: number }>();
  private inFlight: Promise<void> | null = null;
  private stopping = false;
  private stopPromise: Promise<void> | null = null;

  constructor(private readonly deps: Deps) {
    this.consumer = deps.consumer;
    this.options = deps.options;
    this.logger = deps.logger;
    this.maxBatchRecords = Math.max(1, deps.options.maxBatchRecords ?? 1000);
  }

  async start(): Promise<void> {
    const { consumer, options } = this;
    consumer.on(consumer.events.GROUP_JOIN, (event) => this.onGroupJoin(event.payload.memberAssignment));
    consumer.on(consumer.events.CRASH, (event) => this.onCrash(event.payload.error, event.payload.restart));
    await consumer.connect();
    await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning ?? true });
    // run() resolves after the first join + sync, so the caller gets a member that holds its partitions.
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.trackInFlight(this.onBatch(payload)),
    });
  }

  assignments(): Array<{ topic: string; partitions: number[] }> {
    if (this.stopping || this.fatalError) return [];
    return [...this.assigned.entries()]
      .filter(([, partitions]) => partitions.length > 0)
      .map(([topic, partitions]) => ({ topic, partitions: [...partitions].sort((a, b) => a - b) }));
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    for (const t of this.resumeTimers) clearTimeout(t);
    this.resumeTimers.clear();
    // The in-flight batch finishes and commits while the member still belongs to the group:
    // KafkaJS drops commits silently once its runner is stopped.
    await this.inFlight?.catch(() => undefined);
    await this.flushUncommitted();
    try {
      await this.consumer.disconnect();
    } catch (error) {
      this.logger.warn('Kafka consumer disconnect failed', { groupId: this.options.groupId, error: describe(error) });
    }
    this.assigned.clear();
    this.deps.onStopped(this);
  }

  /** The member's error when KafkaJS will not restart it, else null. */
  fatal(): Error | null {
    return this.fatalError;
  }

  /**
   * KafkaJS restarts a crashed member itself when the error is retriable; otherwise the member is gone
   * and would sit idle while looking healthy. Report it once: the application fails readiness and exits.
   */
  private onCrash(error: Error, restart: boolean): void {
    const { groupId } = this.options;
    if (restart || this.stopping) {
      this.logger.warn('Kafka consumer crashed; KafkaJS restarts it', { groupId, error: describe(error), restart });
      return;
    }
    this.fail(new Error(`Kafka consumer of group ${groupId} stopped for good and will not restart: ${describe(error)}`, { cause: error }));
  }

  /** This member cannot go on: readiness fails, the application is told once (it exits). */
  private fail(error: Error): void {
    if (this.fatalError) return;
    this.fatalError = error;
    this.assigned.clear();
    this.logger.error('Kafka consumer stopped for good; the process must restart', { groupId: this.options.groupId, error: error.message });
    this.deps.onFatal(this, error);
    try {
      this.options.onFatal?.(error);
    } catch (callbackError) {
      this.logger.error('onFatal callback failed', { groupId: this.options.groupId, error: describe(callbackError) });
    }
  }

  private trackInFlight(work: Promise<void>): Promise<void> {
    const tracked = work.finally(() => {
      if (this.inFlight === tracked) this.inFlight = null;
    });
    this.inFlight = tracked;
    return tracked;
  }

  private onGroupJoin(memberAssignment: Record<string, number[]>): void {
    // Runs synchronously inside KafkaJS's join, before the first fetch of the new generation, so the
    // `starting` gates are in place before any batch of these partitions can be handled.
    const generation = ++this.generation;
    this.assigned = new Map(
      Object.entries(memberAssignment).filter(([topic]) => this.options.topics.includes(topic)),
    );
    this.starting.clear();
    this.expectedStart.clear();
    // Offsets of an older generation are not ours to commit any more (another member may be ahead).
    this.uncommitted.clear();
    for (const [topic, partitions] of this.assigned) {
      for (const partition of partitions) {
        const key = tpKey(topic, partition);
        const gate = this.applyStartOffset(topic, partition, generation).finally(() => {
          if (this.starting.get(key) === gate) this.starting.delete(key);
        });
        this.starting.set(key, gate);
      }
    }
    this.logger.info('Kafka partitions assigned', { groupId: this.options.groupId, assignments: this.assignments() });
  }

  /**
   * Asks the application where to resume. Its own checkpoint wins over the group's commit; only
   * `undefined` falls back to the group's committed offset. A seek below the log start (retention)
   * comes back OFFSET_OUT_OF_RANGE and KafkaJS resets to the earliest offset (fromBeginning).
   */
  private async applyStartOffset(topic: string, partition: number, generation: number): Promise<void> {
    const resolve = this.options.resolveStartOffset;
    if (!resolve) return;
    let attempt = 0;
    while (!this.stopping && this.generation === generation) {
      try {
        const offset = await resolve(topic, partition);
        // A newer join has its own lookup; this answer may be older than that member's progress.
        if (this.generation !== generation || !this.owns(topic, partition)) return;
        if (offset === undefined) return;
        if (!Number.isSafeInteger(offset) || offset < 0) {
          throw new RangeError(`resolveStartOffset(${topic}, ${partition}) returned ${String(offset)}, not an offset`);
        }
        this.consumer.seek({ topic, partition, offset: String(offset) });
        this.expectedStart.set(tpKey(topic, partition), offset);
        this.logger.debug?.('Kafka partition starts at application offset', { groupId: this.options.groupId, topic, partition, offset });
        return;
      } catch (error) {
        // Consuming before we know the application's checkpoint could skip or reorder work: wait.
        const delay = this.backoffDelay(++attempt);
        this.logger.warn('resolveStartOffset failed', { groupId: this.options.groupId, topic, partition, error: describe(error), retryInMs: delay });
        await sleep(delay);
      }
    }
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    const run: BatchRun = { generation: this.generation };
    if (this.stopping || !payload.isRunning()) return;
    const gate = this.starting.get(tpKey(topic, partition));
    // The start-offset lookup may wait for the database; a rebalance meanwhile must not wait for it.
    if (gate) await this.withHeartbeat(payload, run, gate, { untilRebalance: true });
    // A pending seek (start offset, or the back-off seek) means this batch came from the old position.
    if (!this.current(payload, run) || batch.isEmpty()) return this.rejoinIfRebalancing(run);

    const records = batch.messages.map((m) => toLogRecord(topic, partition, m));
    if (this.rewound(payload, records[0].offset)) return;
    const highWatermark = Number(batch.highWatermark);
    await this.flushUncommitted(payload);

    for (let i = 0; i < records.length; i += this.maxBatchRecords) {
      // Stop between chunks: the rest is not resolved and comes back to the next owner.
      if (i > 0 && !this.current(payload, run)) return this.rejoinIfRebalancing(run);
      const chunk = records.slice(i, i + this.maxBatchRecords);
      // Offsets between the fetch offset and the first record were compacted away, not lost.
      const readFrom = i === 0 ? fetchedOffset(batch, chunk[0].offset) : records[i - 1].offset + 1;
      const recordBatch: RecordBatch = { topic, partition, records: chunk, highWatermark, readFrom };
      try {
        await this.withHeartbeat(payload, run, this.options.handleBatch(recordBatch));
      } catch (error) {
        this.retryLater(payload, chunk[0].offset, error);
        return this.rejoinIfRebalancing(run);
      }
      this.failures.delete(tpKey(topic, partition));
      // The chunk is applied (the application's checkpoint has it). If the group is rebalancing or this
      // member's generation is over, the partition may belong to someone else already: no commit.
      if (run.rebalance !== undefined || run.generation !== this.generation || !this.owns(topic, partition)) {
        return this.rejoinIfRebalancing(run);
      }
      const last = chunk[chunk.length - 1].offset;
      payload.resolveOffset(String(last));
      await this.commit(payload, topic, partition, last + 1);
    }
  }

  /** May this batch go on: still running, same generation, partition still ours, no seek pending, no rebalance? */
  private current(payload: EachBatchPayload, run: BatchRun): boolean {
    const { topic, partition } = payload.batch;
    return (
      !this.stopping &&
      payload.isRunning() &&
      !payload.isStale() &&
      run.rebalance === undefined &&
      run.generation === this.generation &&
      this.owns(topic, partition)
    );
  }

  /** A heartbeat saw the group rebalancing: hand the error to KafkaJS, which rejoins right away. */
  private rejoinIfRebalancing(run: BatchRun): void {
    if (run.rebalance !== undefined && !this.stopping) throw run.rebalance;
  }

  private owns(topic: string, partition: number): boolean {
    return (this.assigned.get(topic) ?? []).includes(partition);
  }

  /**
   * The first batch after a seek to the application's checkpoint starts below it: the broker found
   * the offset out of range and KafkaJS reset the partition to its beginning. The log was truncated or
   * recreated under the checkpoint; handing these records on would have them skipped as "already
   * applied". The partition stops and the member fails with a clear error instead.
   */
  private rewound(payload: EachBatchPayload, firstOffset: number): boolean {
    const { topic, partition } = payload.batch;
    const key = tpKey(topic, partition);
    const expected = this.expectedStart.get(key);
    this.expectedStart.delete(key);
    if (expected === undefined || firstOffset >= expected) return false;
    payload.pause();
    this.fail(
      new Error(
        `Kafka partition ${topic}/${partition} restarts at offset ${firstOffset}, below the application checkpoint ${expected}: ` +
          'the log was truncated or recreated. Nothing is skipped; restore the log or rebuild the projections (replay).',
      ),
    );
    return true;
  }

  /** Handler failed: nothing is committed, the partition is rewound to the chunk start and paused. */
  private retryLater(payload: EachBatchPayload, firstOffset: number, error: unknown): void {
    const { topic, partition } = payload.batch;
    const key = tpKey(topic, partition);
    const attempt = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, attempt);
    const delay = this.backoffDelay(attempt);
    this.logger.warn('handleBatch failed; redelivering after back-off', {
      groupId: this.options.groupId, topic, partition, offset: firstOffset, attempt, retryInMs: delay, error: describe(error),
    });
    try {
      this.consumer.seek({ topic, partition, offset: String(firstOffset) });
      this.expectedStart.set(key, firstOffset);
    } catch (seekError) {
      // Not running any more (stop/crash): the next owner starts from the last commit anyway.
      this.logger.debug?.('seek after handler failure skipped', { error: describe(seekError) });
      return;
    }
    if (this.stopping) return;
    const resume = payload.pause();
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      if (!this.stopping) resume();
    }, delay);
    this.resumeTimers.add(timer);
  }

  private backoffDelay(attempt: number): number {
    const { initialMs, maxMs } = this.deps.backoff;
    return Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  }

  private async commit(payload: EachBatchPayload, topic: string, partition: number, nextOffset: number): Promise<void> {
    const key = tpKey(topic, partition);
    for (let attempt = 1; ; attempt++) {
      try {
        await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: String(nextOffset) }] }] });
        this.uncommitted.delete(key);
        this.deps.onCommitted(this.options.groupId, topic, partition, nextOffset);
        return;
      } catch (error) {
        // Rebalance: let KafkaJS rejoin. The handled records may come back to the next owner, which
        // skips them through its own checkpoint (resolveStartOffset / the projection's stored offset).
        const rebalance = rebalancingCause(error);
        if (rebalance !== undefined) throw rebalance;
        if (attempt >= 3 || this.stopping) {
          // Commits are cumulative: the next batch's commit (or stop) carries this one along.
          this.uncommitted.set(key, { topic, partition, offset: nextOffset });
          this.logger.warn('Kafka offset commit failed', { groupId: this.options.groupId, topic, partition, nextOffset, error: describe(error) });
          return;
        }
        await sleep(200 * attempt);
      }
    }
  }

  private async flushUncommitted(payload?: EachBatchPayload): Promise<void> {
    if (this.uncommitted.size === 0) return;
    const pending = [...this.uncommitted.values()].filter((p) => this.owns(p.topic, p.partition));
    this.uncommitted.clear();
    if (pending.length === 0) return;
    const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
    for (const p of pending) {
      const list = byTopic.get(p.topic) ?? [];
      list.push({ partition: p.partition, offset: String(p.offset) });
      byTopic.set(p.topic, list);
    }
    const topics = [...byTopic.entries()].map(([topic, partitions]) => ({ topic, partitions }));
    try {
      if (payload) await payload.commitOffsetsIfNecessary({ topics });
      else await this.consumer.commitOffsets(topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, ...p }))));
      for (const p of pending) this.deps.onCommitted(this.options.groupId, p.topic, p.partition, p.offset);
    } catch (error) {
      const rebalance = rebalancingCause(error);
      if (payload && rebalance !== undefined) throw rebalance;
      this.logger.warn('Kafka offset commit retry failed', { groupId: this.options.groupId, error: describe(error) });
    }
  }

  /**
   * Keeps the membership alive while a slow handler (or a start-offset lookup) runs. KafkaJS heartbeats
   * only between batches; a rebalance must not be missed (or the session lost) while the handler works.
   * A heartbeat that answers "rebalancing" is remembered in `run`: the batch stops after this chunk.
   */
  private async withHeartbeat<T>(
    payload: EachBatchPayload,
    run: BatchRun,
    work: Promise<T>,
    { untilRebalance = false } = {},
  ): Promise<T | undefined> {
    let noticed: () => void = () => undefined;
    const rebalancing = new Promise<undefined>((resolve) => {
      noticed = () => resolve(undefined);
    });
    const ticker = setInterval(() => {
      // heartbeat() itself throttles to the configured interval.
      payload.heartbeat().catch((error: unknown) => {
        const rebalance = rebalancingCause(error);
        if (rebalance === undefined) return; // connection errors: the fetch loop reconnects
        run.rebalance ??= rebalance;
        noticed();
      });
    }, Math.min(1_000, this.deps.heartbeatIntervalMs));
    try {
      // A handler is always awaited (its transaction must end before the partition can move);
      // a start-offset lookup is not: its answer would be for a generation that is ending.
      return await (untilRebalance ? Promise.race([work, rebalancing]) : work);
    } finally {
      clearInterval(ticker);
    }
  }
}

export function toLogRecord(topic: string, partition: number, m: KafkaMessage): LogRecord {
  const ts = Number(m.timestamp);
  const record: LogRecord = {
    topic,
    partition,
    offset: Number(m.offset),
    key: m.key == null ? null : m.key.toString('utf8'),
    value: m.value ?? Buffer.alloc(0),
    headers: decodeHeaders(m.headers),
    timestamp: new Date(Number.isFinite(ts) && ts > 0 ? ts : Date.now()).toISOString(),
  };
  if (m.value === null) record.tombstone = true;
  return record;
}

/**
 * The offset KafkaJS fetched this batch from (its Batch keeps it; the public type does not declare it).
 * Falls back to the first record's offset, which claims no compaction gap.
 */
export function fetchedOffset(batch: unknown, firstOffset: number): number {
  const raw = (batch as { fetchedOffset?: unknown }).fetchedOffset;
  const n = raw === undefined || raw === null ? NaN : Number(raw);
  return Number.isSafeInteger(n) && n >= 0 && n <= firstOffset ? n : firstOffset;
}

function decodeHeaders(headers: KafkaMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [name, raw] of Object.entries(headers)) {
    // Kafka allows repeated header names; the port has one value per name: keep the last.
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value === undefined) continue;
    out[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return out;
}
