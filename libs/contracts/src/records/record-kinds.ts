import { extractIdentifiers, type IdentifierRef, type IdentifierRules } from '@tessera/identity';
import { CONSENT_SCHEMA } from '../consents/consents.topic';
import { parseConsentRecord, type ConsentRecord } from '../consents/consent.record';
import { ERASURE_SCHEMA } from '../erasures/erasures.topic';
import { parseErasureRecord, type ErasureRecord } from '../erasures/erasure.record';
import { EVENT_SCHEMA } from '../events/events.topic';
import { parseEventRecord, type EventRecord } from '../events/event.record';
import { parseProfileChangeRecord, profileChangeIdentifierRefs, type ProfileChangeRecord } from '../profile-changes/profile-change.record';
import { PROFILE_CHANGE_SCHEMA } from '../profile-changes/profile-changes.topic';
import { PROFILE_UPSERT_SCHEMA } from '../profile-upserts/profile-upserts.topic';
import { parseProfileUpsertRecord, type ProfileUpsertRecord } from '../profile-upserts/profile-upsert.record';
import { REDACTED_FIELD, type RecordEnvelope, type RedactedRecord } from './record-envelope';

/**
 * The record-kind registry (DESIGN §9): every kind on the event store, decoded by its `schema` header.
 * The projector applies all of them in log order; DLQ, replay and `dlq retry` go through this decoder
 * too, so a kind added here is handled everywhere.
 */
export type DecodedRecord =
  | { kind: 'profile-upsert'; record: ProfileUpsertRecord }
  | { kind: 'event'; record: EventRecord }
  /** A redacted consent keeps its hash and consent (an opt-out still holds): `identifierValue` is null. */
  | { kind: 'consent'; record: ConsentRecord }
  | { kind: 'erasure'; record: ErasureRecord }
  /** A write of the native profile API (DESIGN §12). */
  | { kind: 'profile-change'; record: ProfileChangeRecord }
  | { kind: 'redacted'; record: RedactedRecord }
  /** A Kafka tombstone (null value): the record was erased. */
  | { kind: 'tombstone' };

export type RecordDecoding = { ok: true; decoded: DecodedRecord } | { ok: false; error: string };

/** Schemas the projector consumes, in the order they were introduced. */
export const PROJECTED_SCHEMAS: readonly string[] = [PROFILE_UPSERT_SCHEMA, EVENT_SCHEMA, CONSENT_SCHEMA, ERASURE_SCHEMA, PROFILE_CHANGE_SCHEMA];

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A redacted value is a JSON object with `"redacted": true`: spotted by a byte search before the kind's
 * own parse (no second UTF-8 decode of every record), then confirmed by parsing.
 */
function redactedEnvelope(value: Buffer | string): RedactedRecord | undefined {
  // A Buffer is searched for the mark's bytes, encoded once (a string needle is encoded again on every call).
  if (typeof value === 'string' ? value.indexOf(REDACTED_MARK) < 0 : value.indexOf(REDACTED_MARK_BYTES) < 0) return undefined;
  const text = typeof value === 'string' ? value : safeText(value);
  if (text === undefined) return undefined;
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

const REDACTED_MARK = `"${REDACTED_FIELD}"`;
const REDACTED_MARK_BYTES = Buffer.from(REDACTED_MARK, 'utf8');

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
  const kind = schema ?? PROFILE_UPSERT_SCHEMA;
  // A redacted consent still applies (hash only); erasure records are never redacted.
  if (kind !== CONSENT_SCHEMA) {
    const redacted = redactedEnvelope(value);
    if (redacted) return { ok: true, decoded: { kind: 'redacted', record: redacted } };
  }
  switch (kind) {
    case PROFILE_UPSERT_SCHEMA: {
      const parsed = parseProfileUpsertRecord(value);
      return parsed.ok ? { ok: true, decoded: { kind: 'profile-upsert', record: parsed.record } } : parsed;
    }
    case EVENT_SCHEMA: {
      const parsed = parseEventRecord(value);
      return parsed.ok ? { ok: true, decoded: { kind: 'event', record: parsed.record } } : parsed;
    }
    case CONSENT_SCHEMA: {
      const parsed = parseConsentRecord(value);
      return parsed.ok ? { ok: true, decoded: { kind: 'consent', record: parsed.record } } : parsed;
    }
    case ERASURE_SCHEMA: {
      const parsed = parseErasureRecord(value);
      return parsed.ok ? { ok: true, decoded: { kind: 'erasure', record: parsed.record } } : parsed;
    }
    case PROFILE_CHANGE_SCHEMA: {
      const parsed = parseProfileChangeRecord(value);
      return parsed.ok ? { ok: true, decoded: { kind: 'profile-change', record: parsed.record } } : parsed;
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
    case 'event':
      return extractIdentifiers(decoded.record.identifiers, rules).identifiers;
    case 'consent':
      return decoded.record.identifierValue === null ? [] : [{ type: decoded.record.identifierType, value: decoded.record.identifierValue }];
    case 'profile-change':
      return profileChangeIdentifierRefs(decoded.record, rules);
    default:
      return [];
  }
}
