/**
 * Fields every record on the event store carries, whatever its kind (DESIGN §4, §9): the record id
 * (UUID v7, so ids order records by the time ingest received them), tenant, times and source.
 */
export interface RecordEnvelope {
  id: string;
  tenant: string;
  /** When ingest received the request (ISO 8601, UTC, ms). Decides idempotency windows and erasure cut-offs. */
  receivedAt: string;
  /** Event time (ISO 8601, UTC, ms). */
  ts: string;
  source: string;
}

/** A record rewritten by erasure (DESIGN §11): the envelope is kept so offsets and ids stay; nothing personal is. */
export interface RedactedRecord extends RecordEnvelope {
  redacted: true;
}

/** Value of the `redacted` field that marks a redacted record. */
export const REDACTED_FIELD = 'redacted';
