import { isUuidV7 } from '../ids/uuid-v7';

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

const CANONICAL_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `YYYY-MM-DDTHH:mm:ss.sssZ` exactly as `Date.toISOString()` writes it. */
export function isCanonicalIso(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  // The records of one request share receivedAt (and mostly ts): the last few checked answer at once.
  if (recentCanonical.includes(value)) return true;
  if (!CANONICAL_ISO.test(value)) return false;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms) || new Date(ms).toISOString() !== value) return false;
  recentCanonical[nextCanonicalSlot] = value;
  nextCanonicalSlot = (nextCanonicalSlot + 1) % recentCanonical.length;
  return true;
}

const recentCanonical: Array<string | undefined> = [undefined, undefined, undefined, undefined];
let nextCanonicalSlot = 0;

/** The record's own fields after the envelope: read with `field(name)` (own properties only). */
export type EnvelopeParse =
  | { ok: true; envelope: RecordEnvelope; field: (name: string) => unknown }
  | { ok: false; error: string };

/**
 * The first step of every kind's strict decoder: UTF-8 JSON object with a valid envelope. Never throws;
 * the error names the field. Unknown fields are ignored (tolerant reader).
 */
export function parseRecordEnvelope(raw: Buffer | Uint8Array | string): EnvelopeParse {
  let text: string;
  if (typeof raw === 'string') text = raw;
  else {
    try {
      text = utf8.decode(raw);
    } catch {
      return { ok: false, error: 'record value is not valid UTF-8' };
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `record value is not valid JSON: ${(e as Error).message}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { ok: false, error: 'record value must be a JSON object' };
  const o = parsed as Record<string, unknown>;
  const field = (name: string): unknown => (Object.prototype.hasOwnProperty.call(o, name) ? o[name] : undefined);
  const [id, tenant, receivedAt, ts, source] = [field('id'), field('tenant'), field('receivedAt'), field('ts'), field('source')];
  if (!isUuidV7(id)) return { ok: false, error: '`id` must be a lower-case UUID v7 string' };
  if (typeof tenant !== 'string' || tenant.length === 0) return { ok: false, error: '`tenant` must be a non-empty string' };
  if (!isCanonicalIso(receivedAt)) return { ok: false, error: '`receivedAt` must be an ISO 8601 UTC timestamp (YYYY-MM-DDTHH:mm:ss.sssZ)' };
  if (!isCanonicalIso(ts)) return { ok: false, error: '`ts` must be an ISO 8601 UTC timestamp (YYYY-MM-DDTHH:mm:ss.sssZ)' };
  if (typeof source !== 'string' || source.length === 0) return { ok: false, error: '`source` must be a non-empty string' };
  return { ok: true, envelope: { id, tenant, receivedAt, ts, source }, field };
}
