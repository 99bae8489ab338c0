import { Pool } from 'pg';
import type { LogRecordInput, ProducedRecord } from '../event-log.port';
import { UnknownTopicError } from './postgres-log.errors';
import { APPEND_SQL } from './postgres-log.sql';

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

  /**
   * One statement, its own transaction: locks the partitions (ascending), appends, moves the allocators and
   * queues the NOTIFY; it answers after its COMMIT (one round trip per merged batch).
   */
  private async write(calls: PendingCall[]): Promise<ProducedRecord[][]> {
    const append = prepareAppend(
      this.topic,
      calls.length === 1 ? calls[0]!.records : calls.flatMap((c) => c.records),
      calls.length === 1 ? calls[0]!.partitions : calls.flatMap((c) => c.partitions),
    );
    // A named statement: each pooled connection parses and plans it once.
    const produced = await runAppend(async (text, values) => (await this.pool.query({ name: APPEND_STATEMENT, text, values })).rows, append);
    let row = 0;
    return calls.map((call) => call.records.map(() => produced[row++]!));
  }
}

const APPEND_STATEMENT = 'tessera-log.append.v2';

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
  const header = new Array<number>(count);
  const headerIndex = new Map<string, number>();
  const perPartition = new Map<number, number>();
  // Keys and values travel in one binary parameter (no hex, no array escaping), cut by (start, length).
  let size = 0;
  for (let row = 0; row < count; row++) {
    const r = records[row]!;
    size += Buffer.byteLength(r.key, 'utf8') + (typeof r.value === 'string' ? Buffer.byteLength(r.value, 'utf8') : r.value.length);
  }
  const blob = Buffer.allocUnsafe(size);
  const keyStart = new Array<number>(count);
  const keyLength = new Array<number>(count);
  const start = new Array<number>(count);
  const length = new Array<number>(count);
  let position = 0;
  let lastHeaders: LogRecordInput['headers'] | null = null;
  let lastHeader = 0;
  for (let row = 0; row < count; row++) {
    const r = records[row]!;
    const p = partitions[row]!;
    const n = perPartition.get(p) ?? 0;
    perPartition.set(p, n + 1);
    partition[row] = p;
    ordinal[row] = n;
    keyStart[row] = position;
    position += blob.write(r.key, position, 'utf8');
    keyLength[row] = position - keyStart[row]!;
    start[row] = position;
    position += typeof r.value === 'string' ? blob.write(r.value, position, 'utf8') : r.value.copy(blob, position);
    length[row] = position - start[row]!;
    // Records of one batch usually carry equal headers: they are serialised once.
    if (row === 0 || !sameHeaders(r.headers, lastHeaders)) {
      const json = r.headers && Object.keys(r.headers).length > 0 ? JSON.stringify(r.headers) : '{}';
      let h = headerIndex.get(json);
      if (h === undefined) headerIndex.set(json, (h = headerIndex.size));
      lastHeaders = r.headers;
      lastHeader = h;
    }
    header[row] = lastHeader;
  }
  const sorted = [...perPartition.keys()].sort((a, b) => a - b);
  const counts = sorted.map((p) => perPartition.get(p)!);
  const params = [
    topic,
    intArray(partition),
    intArray(ordinal),
    blob,
    intArray(keyStart),
    intArray(keyLength),
    intArray(start),
    intArray(length),
    intArray(header),
    `[${[...headerIndex.keys()].join(',')}]`,
    intArray(sorted),
    intArray(counts),
  ];
  return { topic, partition, ordinal, partitions: sorted, params };
}

function sameHeaders(a: LogRecordInput['headers'], b: LogRecordInput['headers'] | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  let n = 0;
  for (const k in a) {
    if (!Object.prototype.hasOwnProperty.call(a, k)) continue;
    if (!Object.prototype.hasOwnProperty.call(b, k) || a[k] !== b[k]) return false;
    n++;
  }
  let m = 0;
  for (const k in b) if (Object.prototype.hasOwnProperty.call(b, k)) m++;
  return n === m;
}

/** A PostgreSQL array literal of integers (pg would escape every element of a JS array one by one). */
function intArray(values: number[]): string {
  return `{${values.join(',')}}`;
}

/**
 * Appends with one statement (APPEND_SQL) on the caller's connection: inside the caller's open transaction
 * the records exist when it commits; on its own the statement is its own commit.
 */
export async function runAppend(query: SqlQuery, append: PreparedAppend): Promise<ProducedRecord[]> {
  let locked: Array<{ partition: number; next_offset: string }>;
  try {
    locked = (await query(APPEND_SQL, append.params)) as Array<{ partition: number; next_offset: string }>;
  } catch (e) {
    // A record without an offset: one of its partitions is gone (the statement was rolled back).
    if ((e as { code?: unknown })?.code === '23502' && (e as { column?: unknown }).column === 'offset') throw new UnknownTopicError(append.topic);
    throw e;
  }
  if (locked.length !== append.partitions.length) throw new UnknownTopicError(append.topic);
  const base = new Map(locked.map((r) => [r.partition, Number(r.next_offset)]));
  return append.partition.map((p, row) => ({ topic: append.topic, partition: p, offset: base.get(p)! + append.ordinal[row]! }));
}

/** Errors caused by the data of a statement (SQLSTATE classes 22 and 23), not by the connection or server. */
function isDataError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
