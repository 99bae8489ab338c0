import type { LogRecord, RecordBatch } from '../event-log.port';

/** Header naming a record's kind and version, e.g. `profile-upsert.v1` (DESIGN §4, §9). */
export const SCHEMA_HEADER = 'schema';

/** Consecutive records of one partition batch that share a schema: one handler call. */
export interface RecordRun {
  /** The run's schema: the header, or the topic's default for records without one; undefined if neither. */
  schema: string | undefined;
  /** The delivered batch restricted to the run (same topic, partition and high watermark). */
  batch: RecordBatch;
}

/**
 * Splits a partition batch into runs of consecutive records of one schema, in offset order. A batch of
 * one kind (the usual case) is returned as it came, without copying; the only per-record work is
 * reading one header.
 */
export function splitIntoRuns(batch: RecordBatch, schemaWhenMissing?: string): RecordRun[] {
  const schemaOf = (record: LogRecord) => record.headers[SCHEMA_HEADER] ?? schemaWhenMissing;
  const records = batch.records;
  const runs: RecordRun[] = [];
  let start = 0;
  let schema = schemaOf(records[0]!);
  for (let i = 1; i < records.length; i++) {
    const next = schemaOf(records[i]!);
    if (next === schema) continue;
    runs.push({ schema, batch: { ...batch, records: records.slice(start, i) } });
    start = i;
    schema = next;
  }
  runs.push({ schema, batch: start === 0 ? batch : { ...batch, records: records.slice(start) } });
  return runs;
}
