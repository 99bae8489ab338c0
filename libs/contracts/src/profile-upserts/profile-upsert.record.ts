import { extractIdentifiers, type AttributeValue, type IdentifierRules } from '@tessera/identity';
import { uuidv7 } from '../ids/uuid-v7';
import { parseRecordEnvelope } from '../records/record-envelope';
import {
  TS_ATTRIBUTE,
  attributeNameProblem,
  attributeValueProblem,
  isPlainObject,
  showName,
} from './attribute-rules';
import { PROFILE_UPSERT_HEADERS, PROFILE_UPSERT_SOURCE } from './profile-upserts.topic';
import type { ProfileUpsertIdentifier, ValidatedProfileUpsert } from './profile-upsert.validator';

/** The value of a record on tessera.profile-upserts.v1 (DESIGN §4), JSON-encoded. */
export interface ProfileUpsertRecord {
  /** UUID v7, one per accepted item. */
  id: string;
  tenant: string;
  /** When ingest received the body (ISO 8601, UTC, milliseconds). */
  receivedAt: string;
  /** Event time (ISO 8601, UTC, milliseconds): the item's `ts`, else `receivedAt`. */
  ts: string;
  /** Where the record came from, e.g. `api.v3.profiles`. */
  source: string;
  /** The attributes as accepted, `ts` removed. Raw (not normalised) so a replay can re-derive everything. */
  attributes: Record<string, AttributeValue>;
}

/** A record ready for EventLog.produce (structurally a LogRecordInput). */
export interface ProfileUpsertLogRecord {
  /** The record id: the stored key (Postgres log `key`, Kafka message key) holds no personal data (DESIGN §4, §11). */
  key: string;
  /** profileUpsertKey: chooses the partition (one person's records share one) and is not stored. */
  partitionKey: string;
  /** JSON of a ProfileUpsertRecord. */
  value: string;
  headers: Record<string, string>;
}

/**
 * The partition key of a record: `<tenant>:<type>:<value>` of the item's first high-confidence
 * identifier (priority order), else its first identifier, value normalised (DESIGN §4).
 * Decision: the identifier type is part of the key — `<tenant>:<value>` alone would be ambiguous
 * (an email and a vuid, or two custom types, can share a value), and the type makes keys readable.
 */
export function profileUpsertKey(
  tenant: string,
  identifiers: readonly ProfileUpsertIdentifier[],
  rules: IdentifierRules,
): string {
  if (identifiers.length === 0) throw new TypeError('profileUpsertKey: an item needs at least one identifier');
  let chosen = identifiers[0];
  for (let i = 0; i < identifiers.length; i++) {
    if (isHighConfidence(rules, identifiers[i].type)) {
      chosen = identifiers[i];
      break;
    }
  }
  return `${tenant}:${chosen.type}:${chosen.value}`;
}

function isHighConfidence(rules: IdentifierRules, type: string): boolean {
  return rules.get(type)?.confidence === 'high';
}

/**
 * Turns validated items into log records, in item order: one UUID v7 per item (monotonic, so ids
 * follow item order), `receivedAt` shared by the batch, `ts` the item's own or `receivedAt`.
 * The key is the record id and profileUpsertKey only the partition key: the identifier is personal
 * data, and a stored key would outlive an erasure (DESIGN §4).
 * Throws (a programming error, not a client error) on an empty tenant, an invalid date or an item
 * without identifiers.
 */
export function buildProfileUpsertRecords(
  tenant: string,
  items: readonly ValidatedProfileUpsert[],
  receivedAt: Date,
  rules: IdentifierRules,
  source: string = PROFILE_UPSERT_SOURCE,
): ProfileUpsertLogRecord[] {
  if (typeof tenant !== 'string' || tenant.length === 0) throw new TypeError('buildProfileUpsertRecords: tenant must be a non-empty string');
  const receivedAtIso = receivedAt.toISOString(); // RangeError on an invalid Date
  const out: ProfileUpsertLogRecord[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const identifiers =
      item.identifiers && item.identifiers.length > 0
        ? item.identifiers
        : extractIdentifiers(item.attributes, rules).identifiers;
    const id = uuidv7();
    const record: ProfileUpsertRecord = {
      id,
      tenant,
      receivedAt: receivedAtIso,
      ts: item.tsFromBody === false ? receivedAtIso : item.ts.toISOString(),
      source,
      attributes: item.attributes,
    };
    out[i] = {
      key: id,
      partitionKey: profileUpsertKey(tenant, identifiers, rules),
      value: JSON.stringify(record),
      headers: { ...PROFILE_UPSERT_HEADERS },
    };
  }
  return out;
}

export type ProfileUpsertRecordParse = { ok: true; record: ProfileUpsertRecord } | { ok: false; error: string };

/**
 * The worker's strict decoder of a record value: UTF-8 JSON object with the fields of
 * ProfileUpsertRecord and the right types. Size limits of the HTTP API are not re-applied (a record
 * accepted under older limits still replays); identifiers are not resolved here (the rules of the
 * time of consumption apply). Unknown top-level fields are ignored (tolerant reader: additive
 * changes need no new schema). Never throws; the error names the field. Records that fail go to the DLQ.
 */
export function parseProfileUpsertRecord(raw: Buffer | Uint8Array | string): ProfileUpsertRecordParse {
  const parsed = parseRecordEnvelope(raw);
  if (!parsed.ok) return parsed;
  const { id, tenant, receivedAt, ts, source } = parsed.envelope;
  const attributes = parsed.field('attributes');
  if (!isPlainObject(attributes)) return { ok: false, error: '`attributes` must be an object' };

  const names = Object.keys(attributes);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (name === TS_ATTRIBUTE) return { ok: false, error: '`attributes.ts` must not be present (the event time is the record field `ts`)' };
    const nameProblem = attributeNameProblem(name);
    if (nameProblem !== null) return { ok: false, error: `\`attributes\`: ${nameProblem}` };
    const value = attributes[name];
    const valueProblem = attributeValueProblem(value, false);
    if (valueProblem !== null) return { ok: false, error: `\`attributes.${showName(name)}\` ${valueProblem}` };
  }
  // The parsed object is this record's alone: it takes the null prototype itself rather than being copied
  // (`__proto__` and the other reserved names were refused above, so they are never own keys here).
  Object.setPrototypeOf(attributes, null);
  return { ok: true, record: { id, tenant, receivedAt, ts, source, attributes: attributes as Record<string, AttributeValue> } };
}

