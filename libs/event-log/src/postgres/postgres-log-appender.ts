import { Pool } from 'pg';
import type { LogRecordInput, ProducedRecord } from '../event-log.port';
import { UnknownTopicError } from './postgres-log.errors';
import { APPEND_SQL, LOCK_PARTITIONS_SQL } from './postgres-log.sql';
import { withTransaction } from './postgres-transaction';

/** Produce calls that arrive while a transaction for the topic is running are appended together in the next one. */
const MAX_MERGED_RECORDS = 10_000;
const MAX_MERGED_BYTES = 16 * 1024 * 1024;

interface PendingCall {
  records: LogRecordInput[];
  /** Partition of each record (already validated). */
  partitions: number[];
  bytes: number;
  resolve(result: ProducedRecord[]): void;
  reject(error: unknown): void;
}

/**
 * Appends to one topic, one transaction at a time per adapter instance. Concurrent callers are merged into
 * the next transaction (like a Kafka producer's batching), which saves a commit flush and a lock hand-off per
 * call; each call still resolves only after the COMMIT that stored it. Per-key order follows call order.
 */
export class TopicAppender {
  private readonly queue: PendingCall[] = [];
  private running = false;

  constructor(
    private readonly pool: Pool,
    private readonly topic: string,
  ) {}

  append(records: LogRecordInput[], partitions: number[]): Promise<ProducedRecord[]> {
    let bytes = 0;
    for (const r of records) bytes += typeof r.value === 'string' ? Buffer.byteLength(r.value) : r.value.length;
    return new Promise((resolve, reject) => {
      this.queue.push({ records, partitions, bytes, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const calls = [this.queue.shift()!];
        let records = calls[0]!.records.length;
        let bytes = calls[0]!.bytes;
        while (this.queue.length > 0) {
          const next = this.queue[0]!;
          if (records + next.records.length > MAX_MERGED_RECORDS || bytes + next.bytes > MAX_MERGED_BYTES) break;
          calls.push(this.queue.shift()!);
          records += next.records.length;
          bytes += next.bytes;
        }
        await this.writeCalls(calls);
      }
    } finally {
      this.running = false;
    }
  }

  private async writeCalls(calls: PendingCall[]): Promise<void> {
    try {
      const results = await this.write(calls);
      calls.forEach((c, i) => c.resolve(results[i]!));
    } catch (e) {
      if (calls.length > 1 && isDataError(e)) {
        // One call's bad data must not fail its neighbours: write each call on its own.
        for (const c of calls) await this.writeCalls([c]);
      } else {
        for (const c of calls) c.reject(e);
      }
    }
  }

  /** One transaction: lock partitions (ascending), one set-based INSERT, move allocators, NOTIFY, COMMIT. */
  private async write(calls: PendingCall[]): Promise<ProducedRecord[][]> {
    // Everything that does not depend on the allocated offsets is prepared before any lock is taken.
    const append = prepareAppend(
      this.topic,
      calls.flatMap((c) => c.records),
      calls.flatMap((c) => c.partitions),
    );
    const produced = await withTransaction(this.pool, (client) => runAppend(async (sql, params) => (await client.query(sql, params)).rows, append));
    let row = 0;
    return calls.map((call) => call.records.map(() => produced[row++]!));
  }
}

/** Runs one SQL statement on the caller's connection (a pg client, a TypeORM manager) and returns its rows. */
export type SqlQuery = (sql: string, params: unknown[]) => Promise<Array<Record<string, unknown>>>;

/** An append ready to run: its parameters, computed without touching the database. */
export interface PreparedAppend {
  topic: string;
  partition: number[];
  ordinal: number[];
  /** Partitions written, ascending (the lock order). */
  partitions: number[];
  params: unknown[];
}

export function prepareAppend(topic: string, records: LogRecordInput[], partitions: number[]): PreparedAppend {
  const count = records.length;
  const partition = new Array<number>(count);
  const ordinal = new Array<number>(count);
  const key = new Array<string>(count);
  const start = new Array<number>(count);
  const length = new Array<number>(count);
  const header = new Array<number>(count);
  const values = new Array<Buffer>(count);
  const headerIndex = new Map<string, number>();
  const perPartition = new Map<number, number>();
  let position = 0;
  records.forEach((r, row) => {
    const p = partitions[row]!;
    const n = perPartition.get(p) ?? 0;
    perPartition.set(p, n + 1);
    const value = typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : r.value;
    const headers = r.headers && Object.keys(r.headers).length > 0 ? JSON.stringify(r.headers) : '{}';
    let h = headerIndex.get(headers);
    if (h === undefined) headerIndex.set(headers, (h = headerIndex.size));
    partition[row] = p;
    ordinal[row] = n;
    key[row] = r.key;
    start[row] = position;
    length[row] = value.length;
    header[row] = h;
    values[row] = value;
    position += value.length;
  });
  const sorted = [...perPartition.keys()].sort((a, b) => a - b);
  const counts = sorted.map((p) => perPartition.get(p)!);
  // Values travel as one binary parameter (no hex encoding); identical header sets are sent once.
  const params = [topic, partition, ordinal, key, Buffer.concat(values, position), start, length, header, `[${[...headerIndex.keys()].join(',')}]`, sorted, counts];
  return { topic, partition, ordinal, partitions: sorted, params };
}

/**
 * Appends inside the caller's open transaction: locks the partitions (ascending), one set-based
 * INSERT that moves the allocators and queues the NOTIFY (sent at COMMIT). Two statements.
 */
export async function runAppend(query: SqlQuery, append: PreparedAppend): Promise<ProducedRecord[]> {
  const locked = (await query(LOCK_PARTITIONS_SQL, [append.topic, append.partitions])) as Array<{ partition: number; next_offset: string }>;
  if (locked.length !== append.partitions.length) throw new UnknownTopicError(append.topic);
  await query(APPEND_SQL, append.params);
  const base = new Map(locked.map((r) => [r.partition, Number(r.next_offset)]));
  return append.partition.map((p, row) => ({ topic: append.topic, partition: p, offset: base.get(p)! + append.ordinal[row]! }));
}

/** Errors caused by the data of a statement (SQLSTATE classes 22 and 23), not by the connection or server. */
function isDataError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
