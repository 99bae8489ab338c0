import { isUuid } from '@tessera/identity';
import { uuidv7 } from '../ids/uuid-v7';
import { parseRecordEnvelope } from '../records/record-envelope';
import { ERASURE_HEADERS, ERASURE_SOURCE, isRegulation, MAX_REQUESTER_LENGTH, type Regulation } from './erasures.topic';

/**
 * The value of an `erasure.v1` record (DESIGN §11), JSON-encoded: the common envelope plus the
 * request. It names the identifier by its keyed hash only (IdentifierHasher), never by its value, so
 * the record itself never has to be redacted and a replay applies the erasure at the same point.
 */
export interface ErasureRecord {
  /** UUID v7 of the record. */
  id: string;
  tenant: string;
  /** When the request was received (ISO 8601, UTC, ms). Records of the person received before it are dropped. */
  receivedAt: string;
  /** Same as receivedAt. */
  ts: string;
  source: string;
  /** The id the client polls (`GET /v3/compliance/{regulation}/status/{requestId}`). */
  requestId: string;
  regulation: Regulation;
  /** Who asked (kept for the audit trail; not the erased person's data). */
  requester: string;
  identifierType: string;
  /** Keyed hash of the normalised identifier value (hex HMAC-SHA256). */
  identifierHash: string;
  /** A hint: the (surviving) profile the identifier resolved to when the request was received, or null. */
  profileId: string | null;
}

/** One requested identifier, validated and hashed by the caller (the hash needs the database's secret). */
export interface ErasureItem {
  requestId: string;
  requester: string;
  identifierType: string;
  /** Normalised value: chooses the partition only, never stored in the record. */
  identifierValue: string;
  identifierHash: string;
  profileId: string | null;
}

/** A record ready for EventLog.produce (structurally a LogRecordInput). */
export interface ErasureLogRecord {
  /** The record id: the stored key / Kafka message key holds no personal data (DESIGN §4). */
  key: string;
  /** `<tenant>:<type>:<normalised value>`: the partition of that identifier's records; not stored. */
  partitionKey: string;
  value: string;
  headers: Record<string, string>;
}

/** The partition key of an erasure: the one a profile upsert keyed by that identifier has (profileUpsertKey's rule). */
export function erasurePartitionKey(tenant: string, type: string, normalisedValue: string): string {
  return `${tenant}:${type}:${normalisedValue}`;
}

/** One record per item, in item order, sharing `receivedAt`. Throws on an empty tenant or an invalid date (programming errors). */
export function buildErasureRecords(
  tenant: string,
  regulation: Regulation,
  items: readonly ErasureItem[],
  receivedAt: Date,
): ErasureLogRecord[] {
  if (typeof tenant !== 'string' || tenant.length === 0) throw new TypeError('buildErasureRecords: tenant must be a non-empty string');
  if (!isRegulation(regulation)) throw new TypeError(`buildErasureRecords: unknown regulation ${String(regulation)}`);
  const at = receivedAt.toISOString(); // RangeError on an invalid Date
  return items.map((item) => {
    const record: ErasureRecord = {
      id: uuidv7(),
      tenant,
      receivedAt: at,
      ts: at,
      source: ERASURE_SOURCE,
      requestId: item.requestId,
      regulation,
      requester: item.requester,
      identifierType: item.identifierType,
      identifierHash: item.identifierHash,
      profileId: item.profileId,
    };
    return {
      key: record.id,
      partitionKey: erasurePartitionKey(tenant, item.identifierType, item.identifierValue),
      value: JSON.stringify(record),
      headers: { ...ERASURE_HEADERS },
    };
  });
}

export type ErasureRecordParse = { ok: true; record: ErasureRecord } | { ok: false; error: string };

const HASH = /^[0-9a-f]{64}$/;
const TYPE_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * The worker's strict decoder of an erasure record value. Never throws; the error names the field.
 * Unknown fields are ignored (tolerant reader). A record that fails goes to the DLQ like any other.
 */
export function parseErasureRecord(raw: Buffer | Uint8Array | string): ErasureRecordParse {
  const parsed = parseRecordEnvelope(raw);
  if (!parsed.ok) return parsed;
  const { id, tenant, receivedAt, ts, source } = parsed.envelope;
  const get = parsed.field;
  const [requestId, regulation, requester] = [get('requestId'), get('regulation'), get('requester')];
  const [identifierType, identifierHash, profileId] = [get('identifierType'), get('identifierHash'), get('profileId')];
  if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > 64) return { ok: false, error: '`requestId` must be a string of 1-64 characters' };
  if (!isRegulation(regulation)) return { ok: false, error: '`regulation` must be one of gdpr, ccpa, lgpd' };
  if (typeof requester !== 'string' || requester.length === 0 || requester.length > MAX_REQUESTER_LENGTH) {
    return { ok: false, error: `\`requester\` must be a string of 1-${MAX_REQUESTER_LENGTH} characters` };
  }
  if (typeof identifierType !== 'string' || !TYPE_NAME.test(identifierType)) return { ok: false, error: '`identifierType` must be an identifier type name' };
  if (typeof identifierHash !== 'string' || !HASH.test(identifierHash)) return { ok: false, error: '`identifierHash` must be 64 lower-case hex digits' };
  if (profileId !== null && !(typeof profileId === 'string' && isUuid(profileId))) return { ok: false, error: '`profileId` must be a UUID or null' };
  return {
    ok: true,
    record: { id, tenant, receivedAt, ts, source, requestId, regulation, requester, identifierType, identifierHash, profileId: profileId as string | null },
  };
}
