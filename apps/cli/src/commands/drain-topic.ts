import { EventLog, RecordBatch } from '@tessera/event-log';

export interface DrainProgress {
  done: number;
  total: number;
  elapsedMs: number;
}

export interface DrainResult extends DrainProgress {
  /** The end offsets seen at the start: what was drained, and where the group now stands. */
  ends: Array<{ partition: number; offset: number }>;
}

export interface DrainOptions {
  groupId: string;
  topic: string;
  /** Start every partition at offset 0 whatever the group committed (replay). */
  fromZero?: boolean;
  maxBatchRecords?: number;
  handleBatch: (batch: RecordBatch) => Promise<void>;
  /** Runs once this member owns every partition and before any batch is handled. */
  beforeFirstBatch?: () => Promise<void>;
  onProgress?: (p: DrainProgress) => void;
  /** How long to wait to own every partition (another member of the group is running). */
  assignmentTimeoutMs?: number;
}

/**
 * Consumes a topic as one member of a group until it reaches the end offsets seen at the start,
 * then stops (committing). Used by the replay and dead-letter commands.
 */
export async function drainTopic(eventLog: EventLog, options: DrainOptions): Promise<DrainResult> {
  const ends = new Map((await eventLog.endOffsets(options.topic)).map((e) => [e.partition, e.offset]));
  const startedAt = Date.now();
  const position = new Map<number, number>();
  let done = 0;
  let total = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const handle = await eventLog.consume({
    groupId: options.groupId,
    topics: [options.topic],
    fromBeginning: true,
    maxBatchRecords: options.maxBatchRecords ?? 5000,
    resolveStartOffset: options.fromZero ? async () => 0 : undefined,
    handleBatch: async (batch) => {
      await gate;
      // Only what was there at the start: records appended meanwhile (e.g. dead letters this very
      // drain causes) are left for the next run — the group offset is set back to the end below.
      const end = ends.get(batch.partition) ?? 0;
      const records = batch.records.filter((r) => r.offset < end);
      if (records.length) await options.handleBatch({ ...batch, records });
      done += records.length;
      position.set(batch.partition, Math.max(position.get(batch.partition) ?? 0, batch.records[batch.records.length - 1].offset + 1));
    },
  });
  try {
    const deadline = Date.now() + (options.assignmentTimeoutMs ?? 15_000);
    const owned = () => new Set(handle.assignments().flatMap((a) => (a.topic === options.topic ? a.partitions : [])));
    while (owned().size < ends.size) {
      if (Date.now() > deadline) {
        throw new Error(`another member of consumer group ${options.groupId} holds partitions of ${options.topic}: stop the worker (or server) first`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await options.beforeFirstBatch?.();
    const lag = await eventLog.lag(options.groupId, options.topic).catch(() => []);
    const committed = new Map(lag.map((l) => [l.partition, l.committed]));
    for (const [p, end] of ends) total += Math.max(0, end - (options.fromZero ? 0 : (committed.get(p) ?? 0)));
    release();
    const caughtUp = () => [...ends].every(([p, end]) => end === 0 || (position.get(p) ?? (options.fromZero ? 0 : (committed.get(p) ?? 0))) >= end);
    let lastReport = 0;
    while (!caughtUp()) {
      await new Promise((r) => setTimeout(r, 50));
      if (options.onProgress && Date.now() - lastReport >= 1000) {
        lastReport = Date.now();
        options.onProgress({ done, total, elapsedMs: Date.now() - startedAt });
      }
    }
  } finally {
    release();
    await handle.stop();
  }
  // The group resumes exactly where this drain's snapshot ended, not after records it skipped.
  await eventLog.seek(options.groupId, options.topic, [...ends].map(([partition, offset]) => ({ partition, offset })));
  const result = { done, total, elapsedMs: Date.now() - startedAt };
  options.onProgress?.(result);
  return { ...result, ends: [...ends].map(([partition, offset]) => ({ partition, offset })) };
}
