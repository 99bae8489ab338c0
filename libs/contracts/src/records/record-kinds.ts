import { extractIdentifiers, type IdentifierRef, type IdentifierRules } from '@tessera/identity';
import { PROFILE_UPSERT_SCHEMA } from '../profile-upserts/profile-upserts.topic';
import { parseProfileUpsertRecord, type ProfileUpsertRecord } from '../profile-upserts/profile-upsert.record';
import type { RecordEnvelope, RedactedRecord } from './record-envelope';

/**
 * The record-kind registry (DESIGN §9): every kind on the event store, decoded by its `schema` header.
 * The projector applies all of them in log order; DLQ, replay and `dlq retry` go through this decoder
 * too, so a kind added here is handled everywhere.
 */
export type DecodedRecord =
  | { kind: 'profile-upsert'; record: ProfileUpsertRecord }
  | { kind: 'redacted'; record: RedactedRecord }
  /** A Kafka tombstone (null value): the record was erased. */
  | { kind: 'tombstone' };

export type RecordDecoding = { ok: true; decoded: DecodedRecord } | { ok: false; error: string };

/** Schemas the projector consumes, in the order they were introduced. */
export const PROJECTED_SCHEMAS: readonly string[] = [PROFILE_UPSERT_SCHEMA];

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A redacted value is a JSON object with `"redacted": true`: cheap to spot before the kind's own parse. */
function redactedEnvelope(value: Buffer | string): RedactedRecord | undefined {
  const text = typeof value === 'string' ? value : value.length < 4096 ? safeText(value) : undefined;
  if (text === undefined || !text.includes('"redacted"')) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<RedactedRecord>;
    if (parsed && parsed.redacted === true && typeof parsed.id === 'string' && typeof parsed.tenant === 'string') {
      return parsed as RedactedRecord;
    }
  } catch {
    // not JSON: the kind's parser reports it
  }
  return undefined;
}

function safeText(value: Buffer): string | undefined {
  try {
    return utf8.decode(value);
  } catch {
    return undefined;
  }
}

/**
 * Decodes one record by its schema header (a missing header means a profile upsert: records written
 * before the header existed). Never throws; an error names what is wrong and sends the record to the DLQ.
 */
export function decodeRecord(value: Buffer | string | null | undefined, schema: string | undefined): RecordDecoding {
  if (value === null || value === undefined || value.length === 0) return { ok: true, decoded: { kind: 'tombstone' } };
  const redacted = redactedEnvelope(value);
  if (redacted) return { ok: true, decoded: { kind: 'redacted', record: redacted } };
  switch (schema ?? PROFILE_UPSERT_SCHEMA) {
    case PROFILE_UPSERT_SCHEMA: {
      const parsed = parseProfileUpsertRecord(value);
      return parsed.ok ? { ok: true, decoded: { kind: 'profile-upsert', record: parsed.record } } : parsed;
    }
    default:
      return { ok: false, error: `record kind ${JSON.stringify(schema)} is not known to this version` };
  }
}

/** The envelope of a decoded record; undefined for a tombstone. */
export function envelopeOf(decoded: DecodedRecord): RecordEnvelope | undefined {
  return decoded.kind === 'tombstone' ? undefined : decoded.record;
}

/**
 * The normalised identifiers a record names (under the tenant's rules), zaius_id included: what the
 * erasure cut-off and the log's redaction look for. Redacted records and tombstones name nobody.
 */
export function identifierRefsOf(decoded: DecodedRecord, rules: IdentifierRules): IdentifierRef[] {
  switch (decoded.kind) {
    case 'profile-upsert':
      return extractIdentifiers(decoded.record.attributes, rules).identifiers;
    default:
      return [];
  }
}
