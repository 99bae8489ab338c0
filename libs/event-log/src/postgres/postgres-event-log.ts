import { Pool } from 'pg';
import type {
  ConsumeOptions,
  ConsumerHandle,
  EventLog,
  LogRecord,
  LogRecordInput,
  PartitionLag,
  ProducedRecord,
  RecordBatch,
  RedactionResult,
  RedactionTarget,
  ScanOptions,
  ScanResult,
  TopicSpec,
} from '../event-log.port';
import { partitionForKey } from '../partitioner';
import { prepareAppend, runAppend, SqlQuery, TopicAppender } from './postgres-log-appender';
import { PostgresLogConsumer, PostgresLogLogger } from './postgres-log-consumer';
import { UnknownTopicError } from './postgres-log.errors';
import { COUNT_LIVE_MEMBERS_SQL, REDACT_SQL, SCAN_SQL } from './postgres-log.sql';
import { LogRecordRow, LogRowReader } from './postgres-log-rows';
import { withTransaction } from './postgres-transaction';

export type { PostgresLogLogger } from './postgres-log-consumer';
export { UnknownTopicError } from './postgres-log.errors';
export type { SqlQuery } from './postgres-log-appender';

export interface PostgresEventLogOptions {
  /** Shared pool for produce, fetch and commit (not ended by close()). */
  pool: Pool;
  /** For the dedicated per-consumer sessions that hold partition locks and LISTEN. */
  connectionString: string;
  logger?: PostgresLogLogger;
  /** Fallback poll of an idle partition when no NOTIFY arrives. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Heartbeat and fair-share check of each consumer. Default 1000 ms. */
  rebalanceIntervalMs?: number;
  /** Redelivery back-off after a handler error. Default 1 s doubling up to 30 s (the port's contract). */
  handlerRetry?: { initialMs?: number; maxMs?: number };
}

const DEFAULT_LOGGER: PostgresLogLogger = {
  info: () => undefined,
  warn: (msg, extra) => console.warn(msg, extra ?? ''),
  error: (msg, extra) => console.error(msg, extra ?? ''),
};

/**
 * The embedded single-node log (DESIGN §1): topics, partitions and contiguous per-partition offsets in
 * PostgreSQL tables, consumer groups with committed offsets, replay, and the same semantics as Kafka.
 */
export class PostgresEventLog implements EventLog {
  readonly engine = 'postgres';
  private readonly pool: Pool;
  private readonly logger: PostgresLogLogger;
  private readonly consumers = new Set<PostgresLogConsumer>();
  /** Partition counts never change once a topic exists (ensureTopics leaves existing topics alone). */
  private readonly partitionCounts = new Map<string, number>();
  private readonly appenders = new Map<string, TopicAppender>();
  private closed = false;
  private readonly onPoolError = (e: Error) => this.logger.warn('postgres log: idle pool connection failed', { error: e.message });

  constructor(private readonly options: PostgresEventLogOptions) {
    this.pool = options.pool;
    this.logger = options.logger ?? DEFAULT_LOGGER;
    // An idle pooled connection that dies (server restart) emits 'error' on the pool; unhandled, that kills the process.
    this.pool.on('error', this.onPoolError);
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    if (topics.length === 0) return;
    for (const t of topics) {
      if (typeof t.name !== 'string' || t.name.length === 0) throw new Error('topic name must be a non-empty string');
      if (!Number.isInteger(t.partitions) || t.partitions < 1) throw new Error(`topic ${t.name}: partitions must be a positive integer`);
      if (t.retentionMs !== undefined && !Number.isInteger(t.retentionMs)) throw new Error(`topic ${t.name}: retentionMs must be an integer`);
    }
    await withTransaction(this.pool, async (client) => {
      await client.query(
        `INSERT INTO log_topics (name, partitions, retention_ms)
         SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[])
         ON CONFLICT (name) DO NOTHING`,
        [topics.map((t) => t.name), topics.map((t) => t.partitions), topics.map((t) => t.retentionMs ?? -1)],
      );
      // Partition rows follow the stored count, so an existing topic keeps its shape.
      await client.query(
        `INSERT INTO log_partitions (topic, partition, next_offset)
         SELECT t.name, g.partition, 0 FROM log_topics t, generate_series(0, t.partitions - 1) AS g(partition)
         WHERE t.name = ANY($1::text[])
         ON CONFLICT (topic, partition) DO NOTHING`,
        [topics.map((t) => t.name)],
      );
    });
  }

  async produce(topic: string, records: LogRecordInput[]): Promise<ProducedRecord[]> {
    this.assertOpen();
    if (records.length === 0) return [];
    const partitions = await this.partitionsFor(topic, records);
    let appender = this.appenders.get(topic);
    if (!appender) this.appenders.set(topic, (appender = new TopicAppender(this.pool, topic)));
    return appender.append(records, partitions).catch((e) => {
      // The topic was dropped or re-created meanwhile: forget its partition count.
      if (e instanceof UnknownTopicError) this.partitionCounts.delete(topic);
      throw e;
    });
  }

  /**
   * Appends inside the caller's open transaction on this log's database (e.g. dead letters committed
   * together with the consumer checkpoint): the records exist exactly when that transaction commits.
   * `query` runs one statement on the transaction's connection and returns its rows.
   */
  async appendInTransaction(query: SqlQuery, topic: string, records: LogRecordInput[]): Promise<ProducedRecord[]> {
    this.assertOpen();
    if (records.length === 0) return [];
    const partitions = await this.partitionsFor(topic, records);
    return runAppend(query, prepareAppend(topic, records, partitions)).catch((e) => {
      if (e instanceof UnknownTopicError) this.partitionCounts.delete(topic);
      throw e;
    });
  }

  private async partitionsFor(topic: string, records: LogRecordInput[]): Promise<number[]> {
    const count = await this.partitionCount(topic);
    return records.map((r, i) => {
      if (typeof r.key !== 'string') throw new TypeError(`record ${i}: key must be a string`);
      const partition = r.partition ?? partitionForKey(r.partitionKey ?? r.key, count);
      if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
        throw new RangeError(`record ${i}: partition ${partition} does not exist in topic ${topic} (${count} partitions)`);
      }
      return partition;
    });
  }

  async consume(options: ConsumeOptions): Promise<ConsumerHandle> {
    this.assertOpen();
    if (!options.groupId) throw new Error('consume: groupId is required');
    if (!options.topics?.length) throw new Error('consume: at least one topic is required');
    if (options.maxBatchRecords !== undefined && (!Number.isInteger(options.maxBatchRecords) || options.maxBatchRecords < 1)) {
      throw new Error('consume: maxBatchRecords must be a positive integer');
    }
    const consumer = new PostgresLogConsumer(
      options,
      {
        pool: this.pool,
        connectionString: this.options.connectionString,
        logger: this.logger,
        pollIntervalMs: this.options.pollIntervalMs ?? 1000,
        rebalanceIntervalMs: this.options.rebalanceIntervalMs ?? 1000,
        handlerRetry: { initialMs: this.options.handlerRetry?.initialMs ?? 1000, maxMs: this.options.handlerRetry?.maxMs ?? 30_000 },
      },
      () => this.consumers.delete(consumer),
    );
    this.consumers.add(consumer);
    try {
      await consumer.start();
    } catch (e) {
      await consumer.stop();
      throw e;
    }
    return consumer;
  }

  async seek(groupId: string, topic: string, to: 'beginning' | 'end' | Array<{ partition: number; offset: number }>): Promise<void> {
    const ends = await this.endOffsets(topic);
    let target: Array<{ partition: number; offset: number }>;
    if (to === 'beginning') target = ends.map((e) => ({ partition: e.partition, offset: 0 }));
    else if (to === 'end') target = ends;
    else {
      for (const t of to) {
        if (!ends.some((e) => e.partition === t.partition)) throw new RangeError(`seek: partition ${t.partition} does not exist in topic ${topic}`);
        if (!Number.isSafeInteger(t.offset) || t.offset < 0) throw new RangeError(`seek: invalid offset ${t.offset}`);
      }
      target = to;
    }
    await withTransaction(this.pool, async (client) => {
      // Same rule as Kafka: offsets of a group with running members are theirs to move.
      const live = await client.query<{ n: number }>(COUNT_LIVE_MEMBERS_SQL, [groupId]);
      if (live.rows[0]!.n > 0) throw new Error(`seek: consumer group ${groupId} has ${live.rows[0]!.n} running member(s); stop them first`);
      await client.query(
        `INSERT INTO log_group_offsets (group_id, topic, partition, next_offset, updated_at)
         SELECT $1, $2, t.partition, t.offset, now() FROM unnest($3::int[], $4::bigint[]) AS t(partition, "offset")
         ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = excluded.next_offset, updated_at = now()`,
        [groupId, topic, target.map((t) => t.partition), target.map((t) => String(t.offset))],
      );
    });
  }

  async endOffsets(topic: string): Promise<Array<{ partition: number; offset: number }>> {
    const { rows } = await this.pool.query<{ partition: number; next_offset: string }>(
      'SELECT partition, next_offset FROM log_partitions WHERE topic = $1 ORDER BY partition',
      [topic],
    );
    if (rows.length === 0) throw new UnknownTopicError(topic);
    return rows.map((r) => ({ partition: r.partition, offset: Number(r.next_offset) }));
  }

  async lag(groupId: string, topic: string): Promise<PartitionLag[]> {
    const { rows } = await this.pool.query<{ partition: number; end_offset: string; committed: string | null }>(
      `SELECT p.partition, p.next_offset AS end_offset, o.next_offset AS committed
       FROM log_partitions p
       LEFT JOIN log_group_offsets o ON o.group_id = $1 AND o.topic = p.topic AND o.partition = p.partition
       WHERE p.topic = $2
       ORDER BY p.partition`,
      [groupId, topic],
    );
    if (rows.length === 0) throw new UnknownTopicError(topic);
    return rows.map((r) => {
      const end = Number(r.end_offset);
      const committed = r.committed === null ? 0 : Number(r.committed);
      return { partition: r.partition, committed, end, lag: Math.max(0, end - committed) };
    });
  }

  async scan(topic: string, handle: (batch: RecordBatch) => Promise<void>, options: ScanOptions = {}): Promise<ScanResult> {
    this.assertOpen();
    const maxBatchRecords = options.maxBatchRecords ?? 1000;
    if (!Number.isInteger(maxBatchRecords) || maxBatchRecords < 1) throw new Error('scan: maxBatchRecords must be a positive integer');
    const until = options.until ?? (await this.endOffsets(topic));
    const reader = new LogRowReader();
    let records = 0;
    for (const { partition, offset: end } of until) {
      // Keyset pagination on the primary key: each page is an index range scan, whatever the topic's size.
      let from = 0;
      while (from < end) {
        const { rows } = await this.pool.query<LogRecordRow>(SCAN_SQL, [topic, partition, from, end, maxBatchRecords]);
        if (rows.length === 0) break;
        const batch = reader.records(topic, partition, rows);
        await handle({ topic, partition, records: batch, highWatermark: end, readFrom: from });
        records += batch.length;
        from = batch[batch.length - 1]!.offset + 1;
      }
    }
    return { records, until };
  }

  /** One statement per call: values (and headers, keys) rewritten in place; the old row versions go with vacuum. */
  async redact(topic: string, targets: RedactionTarget[]): Promise<RedactionResult> {
    this.assertOpen();
    if (targets.length === 0) return { rewritten: 0, tombstones: 0 };
    const { rowCount } = await this.pool.query(REDACT_SQL, [
      topic,
      targets.map((t) => t.partition),
      targets.map((t) => String(t.offset)),
      targets.map((t) => (typeof t.value === 'string' ? Buffer.from(t.value, 'utf8') : t.value)),
      targets.map((t) => (t.headers ? JSON.stringify(t.headers) : null)),
      targets.map((t) => t.newKey ?? null),
    ]);
    return { rewritten: rowCount ?? 0, tombstones: 0 };
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.stop()));
    this.pool.removeListener('error', this.onPoolError);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('postgres log is closed');
  }

  private async partitionCount(topic: string): Promise<number> {
    const known = this.partitionCounts.get(topic);
    if (known !== undefined) return known;
    const { rows } = await this.pool.query<{ partitions: number }>('SELECT partitions FROM log_topics WHERE name = $1', [topic]);
    if (rows.length === 0) throw new UnknownTopicError(topic);
    this.partitionCounts.set(topic, rows[0]!.partitions);
    return rows[0]!.partitions;
  }
}
