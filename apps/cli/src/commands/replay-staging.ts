import { totalmem } from 'node:os';
import { DataSource } from 'typeorm';
import { LogRecord } from '@tessera/event-log';

/**
 * What a replay keeps in memory to sort the drained log there: 1 GiB of record values and their
 * bookkeeping (about 600 bytes a record: the bench's 200,000 people, 777,000–883,000 records, take
 * 450–510 MiB), or an eighth of the machine's memory when that is less. A larger log is staged in the
 * replay_records table instead, sorted by PostgreSQL (at 512 MiB the bench's 882,828 records went there:
 * 79.7 s instead of about 50).
 */
export const REPLAY_MEMORY_BUDGET_BYTES = Math.min(2 ** 30, Math.floor(totalmem() / 8));

/** Estimated memory of one record kept in memory besides its value: sort key, key and column entries. */
const RECORD_OVERHEAD_BYTES = 180;

/** Rows per statement when records go into replay_records. */
const STAGE_ROWS = 5000;

/** Distinct header sets shared between records in memory (beyond, each record keeps its own). */
const SHARED_HEADER_SETS = 10_000;

/** One drained record, in the form the apply phase needs. */
export interface StagedRecord {
  sortKey: string;
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  tombstone: boolean;
}

const ID_PREFIX = Buffer.from('{"id":"', 'latin1');
const UUID_LENGTH = 36;
const UUID_CHARS = /^[0-9a-f-]{36}$/;

/**
 * The order of a replay: by record id (UUID v7: the time ingest received the record, then its position
 * in the request), then partition and offset. It does not depend on how many partitions the log has, so
 * two replays of the same records give identical state, ids included, whatever the partition count.
 * Records without an id (tombstones, undecodable values) sort first: they apply nothing.
 */
export function replaySortKey(value: Buffer | null): string {
  if (!value || value.length === 0) return '';
  // Every builder writes `id` first (read straight from the bytes: a string of its own, no parent kept alive);
  // a full parse for anything else.
  const end = ID_PREFIX.length + UUID_LENGTH;
  if (value.length > end && value.subarray(0, ID_PREFIX.length).equals(ID_PREFIX) && value[end] === 0x22) {
    const id = value.toString('latin1', ID_PREFIX.length, end);
    if (UUID_CHARS.test(id)) return id;
  }
  try {
    const id = (JSON.parse(value.toString('utf8')) as { id?: unknown }).id;
    return typeof id === 'string' ? id : '';
  } catch {
    return '';
  }
}

/** replay_records' order (its key), compared as the table's index compares them. */
function compareKeys(aKey: string, aPartition: number, aOffset: number, bKey: string, bPartition: number, bOffset: number): number {
  if (aKey !== bKey) return aKey < bKey ? -1 : 1;
  return aPartition - bPartition || aOffset - bOffset;
}

/**
 * The batch's values in one buffer: a view of the one the log read them into when they lie there side by
 * side and fill most of it (the Postgres log's batches: LogRowReader), else a copy — memory never keeps
 * a driver's larger buffer alive for a few records.
 */
function valuesOf(records: LogRecord[]): Buffer {
  const values = records.map((r) => r.value ?? Buffer.alloc(0));
  const first = values[0];
  let end = first ? first.byteOffset + first.length : 0;
  for (let i = 1; i < values.length && first; i++) {
    if (values[i].buffer !== first.buffer || values[i].byteOffset !== end) return Buffer.concat(values);
    end += values[i].length;
  }
  if (!first || first.buffer.byteLength > 2 * (end - first.byteOffset)) return Buffer.concat(values);
  return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
}

/**
 * Drained records held in columns (few objects for the collector to trace): values stay in one buffer
 * per drained batch; sort key, key, partition, offset and a shared header set per record.
 */
class RecordColumns {
  private readonly sortKeys: string[] = [];
  private readonly keys: Array<string | null> = [];
  private readonly partitions: number[] = [];
  private readonly offsets: number[] = [];
  private readonly tombstones: boolean[] = [];
  private readonly buffers: Buffer[] = [];
  private readonly bufferOf: number[] = [];
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly headerSets: Array<Record<string, string>> = [];
  private readonly headerSetOf: number[] = [];
  private readonly headerSetIndex = new Map<string, number>();
  private readonly headerSetOfObject = new Map<Record<string, string>, number>();
  /** Estimated bytes held. */
  bytes = 0;
  private order?: number[];

  get size(): number {
    return this.sortKeys.length;
  }

  /** A batch's records; their values copied into one buffer (no hold on the driver's buffers). */
  add(records: LogRecord[]): void {
    this.order = undefined;
    // Everything that can throw first: the columns stay in step.
    const sortKeys = records.map((r) => replaySortKey(r.value));
    const headerSets = records.map((r) => this.headerSet(r.headers));
    const buffer = valuesOf(records);
    this.buffers.push(buffer);
    let at = 0;
    for (const [n, r] of records.entries()) {
      const length = r.value?.length ?? 0;
      this.sortKeys.push(sortKeys[n]);
      this.keys.push(r.key);
      this.partitions.push(r.partition);
      this.offsets.push(r.offset);
      this.tombstones.push(r.tombstone === true);
      this.bufferOf.push(this.buffers.length - 1);
      this.starts.push(at);
      this.ends.push(at + length);
      this.headerSetOf.push(headerSets[n]);
      at += length;
      this.bytes += length + RECORD_OVERHEAD_BYTES;
    }
  }

  record(i: number): StagedRecord {
    return {
      sortKey: this.sortKeys[i],
      partition: this.partitions[i],
      offset: this.offsets[i],
      key: this.keys[i],
      value: this.buffers[this.bufferOf[i]].subarray(this.starts[i], this.ends[i]),
      headers: this.headerSets[this.headerSetOf[i]],
      tombstone: this.tombstones[i],
    };
  }

  /** Indexes in replay order, a record delivered twice (a redelivered batch) once, as the table's key keeps it. */
  inOrder(): number[] {
    if (this.order) return this.order;
    const k = this.sortKeys;
    const p = this.partitions;
    const o = this.offsets;
    const all = Array.from({ length: this.size }, (_, i) => i).sort((a, b) => compareKeys(k[a], p[a], o[a], k[b], p[b], o[b]));
    const order: number[] = [];
    for (const i of all) {
      const last = order[order.length - 1];
      if (last === undefined || compareKeys(k[last], p[last], o[last], k[i], p[i], o[i]) !== 0) order.push(i);
    }
    this.order = order;
    return order;
  }

  private headerSet(headers: Record<string, string>): number {
    // The Postgres log hands records with the same headers one shared object (LogRowReader): no JSON needed.
    const same = this.headerSetOfObject.get(headers);
    if (same !== undefined) return same;
    const index = this.headerSetOfText(headers);
    if (this.headerSetOfObject.size < SHARED_HEADER_SETS) this.headerSetOfObject.set(headers, index);
    return index;
  }

  private headerSetOfText(headers: Record<string, string>): number {
    const key = JSON.stringify(headers);
    const known = this.headerSetIndex.get(key);
    if (known !== undefined) return known;
    this.headerSets.push(headers);
    if (this.headerSetIndex.size < SHARED_HEADER_SETS) this.headerSetIndex.set(key, this.headerSets.length - 1);
    return this.headerSets.length - 1;
  }
}

/**
 * The drained log of a replay, handed back in replay order (replaySortKey). Kept in memory and sorted
 * there while it fits REPLAY_MEMORY_BUDGET_BYTES; past that, everything goes to replay_records (an
 * unlogged table) and PostgreSQL sorts it. Either way it can be read again from the start.
 */
export class ReplayStaging {
  private memory: RecordColumns | undefined = new RecordColumns();
  /** Records of `memory` already copied to replay_records by a spill that has not finished. */
  private spilled = 0;
  private spilling?: Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly budgetBytes = REPLAY_MEMORY_BUDGET_BYTES,
  ) {}

  /** Where the records are: 'memory', or 'table' once they outgrew the budget. */
  get place(): 'memory' | 'table' {
    return this.memory ? 'memory' : 'table';
  }

  /** One line for the operator: where the drained log is sorted, and why. */
  describe(): string {
    const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
    return this.memory
      ? `sorting in memory (${mib(this.memory.bytes)} of its ${mib(this.budgetBytes)} budget)`
      : `sorting in the replay_records table (the log outgrew the memory budget of ${mib(this.budgetBytes)})`;
  }

  async add(records: LogRecord[]): Promise<void> {
    // Batches of other partitions wait for a spill under way: nothing is added to memory while it is copied.
    while (this.spilling) await this.spilling.catch(() => undefined);
    if (!this.memory) return insertStaged(this.dataSource, records.map(stagedOf));
    this.memory.add(records);
    if (this.memory.bytes <= this.budgetBytes) return;
    this.spilling = this.spill().finally(() => (this.spilling = undefined));
    await this.spilling;
  }

  /**
   * Copies what memory holds to replay_records, then lets memory go. Should a statement fail, memory keeps
   * everything (the caller's batch comes again and the spill resumes; the table's key drops what was copied twice).
   */
  private async spill(): Promise<void> {
    const memory = this.memory!;
    while (this.spilled < memory.size) {
      const rows: StagedRecord[] = [];
      for (let j = this.spilled; j < Math.min(memory.size, this.spilled + STAGE_ROWS); j++) rows.push(memory.record(j));
      await insertStaged(this.dataSource, rows);
      this.spilled += rows.length;
    }
    this.memory = undefined;
  }

  /** The records in replay order, `size` at a time. */
  async *inOrder(size: number): AsyncGenerator<StagedRecord[]> {
    const memory = this.memory;
    if (memory) {
      const order = memory.inOrder();
      for (let i = 0; i < order.length; i += size) yield order.slice(i, i + size).map((j) => memory.record(j));
      return;
    }
    let after: [string, number, number] = ['', -1, -1];
    for (;;) {
      const rows: Array<{ sort_key: string; partition: number; offset: string; key: string | null; value: Buffer; headers: Record<string, string>; tombstone: boolean }> =
        await this.dataSource.query(
          `SELECT sort_key, partition, "offset", key, value, headers, tombstone FROM replay_records
            WHERE (sort_key, partition, "offset") > ($1, $2, $3::bigint) ORDER BY sort_key, partition, "offset" LIMIT $4`,
          [...after, size],
        );
      if (rows.length === 0) return;
      const records = rows.map((r) => ({ sortKey: r.sort_key, partition: r.partition, offset: Number(r.offset), key: r.key, value: r.value, headers: r.headers, tombstone: r.tombstone }));
      const last = records[records.length - 1];
      after = [last.sortKey, last.partition, last.offset];
      yield records;
    }
  }
}

function stagedOf(r: LogRecord): StagedRecord {
  return { sortKey: replaySortKey(r.value), partition: r.partition, offset: r.offset, key: r.key, value: r.value ?? Buffer.alloc(0), headers: r.headers, tombstone: r.tombstone === true };
}

/** Records into replay_records in one statement. */
async function insertStaged(dataSource: DataSource, r: StagedRecord[]): Promise<void> {
  await dataSource.query(
    `INSERT INTO replay_records (sort_key, partition, "offset", key, value, headers, tombstone)
     SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::bytea[], $6::jsonb[], $7::boolean[])
     ON CONFLICT DO NOTHING`,
    [
      r.map((x) => x.sortKey),
      r.map((x) => x.partition),
      r.map((x) => x.offset),
      r.map((x) => x.key),
      r.map((x) => x.value),
      r.map((x) => JSON.stringify(x.headers)),
      r.map((x) => x.tombstone),
    ],
  );
}
