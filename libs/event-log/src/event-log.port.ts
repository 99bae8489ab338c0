/**
 * EventLog: the durable, partitioned, replayable log Tessera is built on (DESIGN §1, §6).
 * Two adapters implement it — Kafka (KafkaJS) and the Postgres log — and both pass one
 * conformance suite (libs/event-log/src/conformance).
 *
 * Offsets are per partition, start at 0 and are contiguous for the Postgres log; Kafka offsets are
 * monotonic per partition. "next offset" always means last consumed offset + 1 (Kafka's convention).
 */

export interface TopicSpec {
  name: string;
  partitions: number;
  /** -1 = keep forever (the event store). Default -1. */
  retentionMs?: number;
  /**
   * Records of this topic must be deletable (erasure, DESIGN §11). The Postgres log rewrites records in
   * place and ignores it. Kafka creates the topic with `cleanup.policy=compact` (records keyed by their
   * record id are never compacted away unless a tombstone with that key follows) and these bounds on
   * how long a tombstoned record stays readable.
   */
  deletable?: TopicCompaction;
}

export interface TopicCompaction {
  /** `max.compaction.lag.ms`: a tombstoned record is compacted away within this long (plus the cleaner's back-off). */
  maxCompactionLagMs: number;
  /** `segment.ms`: the active segment (never compacted) rolls this often. Default min(maxCompactionLagMs, 1 h). */
  segmentMs?: number;
  /** `min.cleanable.dirty.ratio`. Default 0.01: compact soon after a tombstone rather than when half the log is dirty. */
  minCleanableDirtyRatio?: number;
  /** `delete.retention.ms`: how long the tombstones themselves (keys only) stay. Kafka's default (24 h) when unset. */
  deleteRetentionMs?: number;
}

export interface LogRecordInput {
  /** Stored with the record (Kafka: the message key). Without `partitionKey`, records with the same key share a partition, in produce order. */
  key: string;
  /**
   * Chooses the partition instead of `key` (murmur2, as for keys) and is not stored: records of one
   * person share a partition while the stored key (e.g. the record id) holds no personal data (DESIGN §4, §11).
   */
  partitionKey?: string;
  value: Buffer | string;
  headers?: Record<string, string>;
  /** Explicit partition; default: stable hash of the key (murmur2, as KafkaJS's default partitioner). */
  partition?: number;
}

export interface ProducedRecord {
  topic: string;
  partition: number;
  offset: number;
}

export interface LogRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  /** When the log stored the record (ISO 8601). */
  timestamp: string;
  /**
   * Set on a copy re-sequenced by a replay (which applies records in record-id order, see the replay
   * command): where the record really is in the log. `partition`/`offset` then count the replay's order.
   */
  origin?: { partition: number; offset: number };
  /**
   * A Kafka tombstone (null value; `value` is then an empty Buffer): erasure deleted the record with this
   * key, compaction removes both. Nothing to apply. Never set by the Postgres log (it rewrites in place).
   */
  tombstone?: boolean;
}

export interface RecordBatch {
  topic: string;
  partition: number;
  /** In offset order, non-empty. */
  records: LogRecord[];
  /** Partition end offset (next offset to be written) as known when the batch was fetched. */
  highWatermark: number;
  /**
   * The offset the engine read this batch from (Kafka: the fetch offset). The log holds no record between
   * it and the first record's offset — a compacted topic removed them — so an application checkpoint at
   * or above `readFrom` that lies below the first offset is not a gap. Unset: the first record's offset.
   */
  readFrom?: number;
  /**
   * Set for a consumer with `readAheadOnRequest` on a log that reads ahead (Postgres): starts reading the
   * partition's next batch now (idempotent). A handler calls it when it starts waiting for I/O, so that
   * the next batch arrives — and is prepared — while this thread would otherwise be idle; unasked, the
   * next batch is read once the handler returns.
   */
  readAhead?: () => void;
}

/** A record erasure rewrites (Postgres log) or deletes (Kafka tombstone). */
export interface RedactionTarget {
  partition: number;
  offset: number;
  /** The stored key. Kafka: the tombstone's key (compaction deletes earlier records with this key in the partition). */
  key: string | null;
  /** Postgres log: the value the record is rewritten to. */
  value: Buffer | string;
  /** Postgres log: the headers it keeps (default: unchanged). */
  headers?: Record<string, string>;
  /** Postgres log: a new stored key (e.g. the record id where the stored key was personal data). Default: unchanged. */
  newKey?: string;
}

export interface RedactionResult {
  /** Records rewritten in place (Postgres log). */
  rewritten: number;
  /** Tombstones produced (Kafka). */
  tombstones: number;
}

export interface ScanOptions {
  /** Exclusive upper offset per partition. Default: the end offsets when the scan starts. */
  until?: Array<{ partition: number; offset: number }>;
  /** Upper bound on records per batch. Default 1000. */
  maxBatchRecords?: number;
}

export interface ScanResult {
  /** Records handed to the handler (tombstones included). */
  records: number;
  /** The end offsets the scan read up to (exclusive). */
  until: Array<{ partition: number; offset: number }>;
}

export interface ConsumeOptions {
  groupId: string;
  topics: string[];
  /** Where a partition starts when neither the application nor the group has an offset. Default: beginning. */
  fromBeginning?: boolean;
  /** Upper bound on records per batch. Default 1000. */
  maxBatchRecords?: number;
  /**
   * Called on every assignment of a partition to this consumer (each rebalance). An application that
   * checkpoints offsets in its own store (the projection transaction) returns its next offset here and
   * the log resumes from it, whatever the group has committed (0 = the log's beginning; below the log
   * start, e.g. after retention, the first record kept). `undefined` falls back to the group's
   * committed offset, then to `fromBeginning`. An answer that arrives after the partition was
   * reassigned is ignored. If the log has no such offset any more because it was recreated or truncated
   * below it, nothing is delivered and `onFatal` reports it (Kafka). With it, the Postgres log commits the
   * group offset after a batch without waiting for the WAL flush (the application's checkpoint decides).
   */
  resolveStartOffset?: (topic: string, partition: number) => Promise<number | undefined>;
  /**
   * Handles one batch of one partition. Batches of one partition are delivered one at a time, in order.
   * Resolving commits `lastOffset + 1` for the group (manual commit: never before the handler succeeded).
   * Throwing does not commit and does not skip: the same records are redelivered after a back-off
   * (1 s doubling up to 30 s). Poison handling (dead-lettering) is the handler's job.
   */
  handleBatch: (batch: RecordBatch) => Promise<void>;
  /**
   * Optional: called with a batch as soon as it is read, which on the Postgres log is while the batch
   * before it is still being handled — CPU work on it (decoding) then overlaps that handling's waits for
   * I/O. Must not throw or change the batch; handleBatch gets it afterwards, or never (the partition was
   * handed over, or the batch before failed and is redelivered). The Postgres log calls it; Kafka, which
   * reads no batch ahead of the handler, does not.
   */
  prepareBatch?: (batch: RecordBatch) => void;
  /**
   * Optional: the next batch is read when the handler calls `batch.readAhead()` (or once it returns), not
   * as soon as the handler starts. Reading a batch costs this thread CPU (rows parsed, prepareBatch): a
   * handler that alternates its own CPU work with waits for the database says when that costs nothing.
   */
  readAheadOnRequest?: boolean;
  /**
   * Called once when this member stopped for good and the engine will not restart it (e.g. KafkaJS
   * gave up after a crash). The application should fail readiness and exit so an orchestrator restarts it.
   */
  onFatal?: (error: Error) => void;
}

export interface ConsumerHandle {
  /** Stops fetching, lets an in-flight batch finish and commit, releases the partitions. */
  stop(): Promise<void>;
  /** Partitions currently assigned to this consumer, e.g. `[{topic, partitions: [0, 2]}]`. */
  assignments(): Array<{ topic: string; partitions: number[] }>;
}

export interface PartitionLag {
  partition: number;
  /** The group's committed next offset (0 / low watermark when none). */
  committed: number;
  /** The partition end offset. */
  end: number;
  lag: number;
}

export interface EventLog {
  /** Engine name for logs and health: 'postgres' | 'kafka'. */
  readonly engine: string;
  /** Creates missing topics; existing topics are left as they are. Idempotent. */
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  /**
   * Appends records; resolves once every record is durably stored (Kafka: acks=-1, idempotent
   * producer; Postgres: committed). Rejects if any record was not stored — a caller may retry the
   * whole batch. Per-key order is kept. Result is in input order.
   */
  produce(topic: string, records: LogRecordInput[]): Promise<ProducedRecord[]>;
  /** Starts a group member consuming `topics` in batches per partition. */
  consume(options: ConsumeOptions): Promise<ConsumerHandle>;
  /** Moves a group's committed offsets (no member of the group may be running): replay. */
  seek(groupId: string, topic: string, to: 'beginning' | 'end' | Array<{ partition: number; offset: number }>): Promise<void>;
  /** End offset (next offset to be written) per partition. */
  endOffsets(topic: string): Promise<Array<{ partition: number; offset: number }>>;
  /** Committed offset and lag per partition for a group. */
  lag(groupId: string, topic: string): Promise<PartitionLag[]>;
  /**
   * Reads `topic` from its beginning up to `until` (default: the end offsets when the scan starts),
   * batch by batch per partition (offset order within a partition), without joining any application
   * group or committing anything. For background jobs that must see every record (erasure).
   */
  scan(topic: string, handle: (batch: RecordBatch) => Promise<void>, options?: ScanOptions): Promise<ScanResult>;
  /**
   * Makes records unreadable (erasure, DESIGN §11). Postgres log: rewrites each target's value (and
   * headers / key when given) in place. Kafka: produces a tombstone (null value, the target's key, its
   * partition); a compacted topic (`deletable`) removes the record within the topic's compaction bound.
   * Kafka rejects (RedactionUnavailableError) when the topic is not compacted: tombstones would delete nothing.
   */
  redact(topic: string, targets: RedactionTarget[]): Promise<RedactionResult>;
  /** Answers when the engine is reachable (readiness). Rejects otherwise. */
  ping(): Promise<void>;
  /** Stops all consumers started through this instance and releases connections. */
  close(): Promise<void>;
}

export const EVENT_LOG = Symbol('EVENT_LOG');

/** The log cannot make records unreadable (a Kafka topic without `cleanup.policy=compact`). */
export class RedactionUnavailableError extends Error {
  override readonly name = 'RedactionUnavailableError';
}
