import type { LogRecord } from '../event-log.port';

/**
 * The columns of a stored record as the consumer and scans read them, in the form cheapest for this
 * process to take apart (a replay reads every record of the log; the profile of a 1,014,628-record
 * replay spent ≈ 4 of its 10 s reading in hex, timestamp and header parsing):
 * - the value in base64 (4/3 of its bytes, decoded natively) instead of bytea's hex (twice its bytes);
 * - the time already in `Date.toISOString()` form (to_char truncates to milliseconds as Date does),
 *   not parsed to a Date and printed again;
 * - headers as their JSON text, parsed once per distinct text (LogRowReader).
 */
export const LOG_RECORD_COLUMNS = `"offset", key, encode(value, 'base64') AS value, headers::text AS headers,
         to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts`;

/** A row selected with LOG_RECORD_COLUMNS. */
export interface LogRecordRow {
  offset: string;
  key: string | null;
  value: string;
  headers: string | null;
  ts: string;
}

/** Distinct header texts a reader keeps parsed (records of one producer mostly share a few). */
const HEADER_SETS = 1024;
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Turns rows into records. Records with the same header text share one frozen headers object (a
 * consumer that needs to change headers copies them, as the erasure completer does).
 */
export class LogRowReader {
  private readonly headerSets = new Map<string, Readonly<Record<string, string>>>();

  /**
   * The rows of one partition as records, their values decoded into one buffer (one allocation per
   * batch rather than one per record: a replay's million small buffers made the collector run more).
   */
  records(topic: string, partition: number, rows: LogRecordRow[]): LogRecord[] {
    let size = 0;
    for (const row of rows) size += Buffer.byteLength(row.value, 'base64');
    const values = Buffer.allocUnsafe(size);
    let at = 0;
    return rows.map((row) => {
      const start = at;
      at += values.write(row.value, at, 'base64');
      return {
        topic,
        partition,
        offset: Number(row.offset),
        key: row.key,
        value: values.subarray(start, at),
        headers: this.headers(row.headers) as Record<string, string>,
        timestamp: row.ts,
      };
    });
  }

  private headers(text: string | null): Readonly<Record<string, string>> {
    if (text === null || text === '{}') return NO_HEADERS;
    let headers = this.headerSets.get(text);
    if (headers === undefined) {
      headers = Object.freeze(JSON.parse(text) as Record<string, string>);
      if (this.headerSets.size >= HEADER_SETS) this.headerSets.clear();
      this.headerSets.set(text, headers);
    }
    return headers;
  }
}
