import { uuidv7 } from '../ids/uuid-v7';
import { isCanonicalIso, parseRecordEnvelope, type RecordEnvelope } from '../records/record-envelope';
import { CONSENT_HEADERS, CONSENT_LIMITS, CONSENT_SOURCE } from './consents.topic';
import type { ValidatedConsent } from './consent.validator';

/**
 * The value of a `consent.v1` record (DESIGN §11), JSON-encoded: the envelope plus one identifier's
 * consent. Consent is kept per identifier (type and normalised value), whether or not a profile holds
 * it; the projector keeps the latest `updateTs` (ties: the larger record id).
 */
export interface ConsentRecord extends RecordEnvelope {
  identifierType: string;
  /**
   * Normalised value. `null` only in a record redacted by an erasure (`redacted: true`), which keeps
   * the hash, consent, reason and times so that an opt-out still holds after a replay.
   */
  identifierValue: string | null;
  /** Keyed hash of the normalised value (IdentifierHasher: hex HMAC-SHA256). */
  identifierHash: string;
  consent: boolean;
  reason: string | null;
  /** `consent_update_ts` (ISO 8601, UTC, ms): decides which consent is the latest. */
  updateTs: string;
  redacted?: true;
}

/** Computes an identifier's keyed hash (IdentifierHasher from @tessera/store: it needs the database's secret). */
export interface IdentifierHashFunction {
  hash(tenant: string, type: string, normalisedValue: string): string;
}

/** A record ready for EventLog.produce (structurally a LogRecordInput). */
export interface ConsentLogRecord {
  /** The record id: the stored key / Kafka message key holds no personal data (DESIGN §4). */
  key: string;
  /** `<tenant>:<type>:<normalised value>`: the identifier's partition; not stored. */
  partitionKey: string;
  value: string;
  headers: Record<string, string>;
}

/** The partition of an identifier's consent: the one a profile upsert keyed by that identifier has (profileUpsertKey's rule). */
export function consentPartitionKey(tenant: string, type: string, normalisedValue: string): string {
  return `${tenant}:${type}:${normalisedValue}`;
}

/** One record per item, in item order (monotonic ids), sharing `receivedAt`. Throws on an empty tenant or an invalid date. */
export function buildConsentRecords(tenant: string, items: readonly ValidatedConsent[], receivedAt: Date, hasher: IdentifierHashFunction): ConsentLogRecord[] {
  if (typeof tenant !== 'string' || tenant.length === 0) throw new TypeError('buildConsentRecords: tenant must be a non-empty string');
  const at = receivedAt.toISOString(); // RangeError on an invalid Date
  return items.map((item) => {
    const updateTs = item.updateTs.toISOString();
    const record: ConsentRecord = {
      id: uuidv7(),
      tenant,
      receivedAt: at,
      ts: updateTs,
      source: CONSENT_SOURCE,
      identifierType: item.identifierType,
      identifierValue: item.identifierValue,
      identifierHash: hasher.hash(tenant, item.identifierType, item.identifierValue),
      consent: item.consent,
      reason: item.reason,
      updateTs,
    };
    return {
      key: record.id,
      partitionKey: consentPartitionKey(tenant, item.identifierType, item.identifierValue),
      value: JSON.stringify(record),
      headers: { ...CONSENT_HEADERS },
    };
  });
}

export type ConsentRecordParse = { ok: true; record: ConsentRecord } | { ok: false; error: string };

const HASH = /^[0-9a-f]{64}$/;
const TYPE_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_VALUE_LENGTH = 1024; // normalised values are ≤ 255 today; tolerant of a rule that grows them

/**
 * The worker's strict decoder of a consent record value (a redacted one included: `redacted: true`
 * and no `identifierValue`). Never throws; the error names the field. Unknown fields are ignored
 * (tolerant reader). A record that fails goes to the DLQ like any other.
 */
export function parseConsentRecord(raw: Buffer | Uint8Array | string): ConsentRecordParse {
  const parsed = parseRecordEnvelope(raw);
  if (!parsed.ok) return parsed;
  const { id, tenant, receivedAt, ts, source } = parsed.envelope;
  const get = parsed.field;
  const [identifierType, identifierValue, identifierHash] = [get('identifierType'), get('identifierValue'), get('identifierHash')];
  const [consent, reason, updateTs, redacted] = [get('consent'), get('reason'), get('updateTs'), get('redacted')];
  if (redacted !== undefined && redacted !== true) return { ok: false, error: '`redacted` must be true when present' };
  if (typeof identifierType !== 'string' || !TYPE_NAME.test(identifierType)) return { ok: false, error: '`identifierType` must be an identifier type name' };
  if (redacted === true) {
    if (identifierValue !== undefined && identifierValue !== null) return { ok: false, error: '`identifierValue` must be absent from a redacted record' };
  } else if (typeof identifierValue !== 'string' || identifierValue.length === 0 || identifierValue.length > MAX_VALUE_LENGTH || identifierValue.includes('\u0000')) {
    return { ok: false, error: `\`identifierValue\` must be a string of 1-${MAX_VALUE_LENGTH} characters without NUL` };
  }
  if (typeof identifierHash !== 'string' || !HASH.test(identifierHash)) return { ok: false, error: '`identifierHash` must be 64 lower-case hex digits' };
  if (typeof consent !== 'boolean') return { ok: false, error: '`consent` must be true or false' };
  if (reason !== null && reason !== undefined && !(typeof reason === 'string' && reason.length <= CONSENT_LIMITS.maxReasonLength && !reason.includes('\u0000'))) {
    return { ok: false, error: `\`reason\` must be null or a string of at most ${CONSENT_LIMITS.maxReasonLength} characters without NUL` };
  }
  if (!isCanonicalIso(updateTs)) return { ok: false, error: '`updateTs` must be an ISO 8601 UTC timestamp (YYYY-MM-DDTHH:mm:ss.sssZ)' };
  return {
    ok: true,
    record: {
      id,
      tenant,
      receivedAt,
      ts,
      source,
      identifierType,
      identifierValue: redacted === true ? null : (identifierValue as string),
      identifierHash,
      consent,
      reason: (reason ?? null) as string | null,
      updateTs,
      ...(redacted === true ? { redacted: true as const } : {}),
    },
  };
}
