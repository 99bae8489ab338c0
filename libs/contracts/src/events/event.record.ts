import type { IdentifierRules } from '@tessera/identity';
import { uuidv7 } from '../ids/uuid-v7';
import { parseRecordEnvelope } from '../records/record-envelope';
import { attributeNameProblem, attributeValueProblem, isOwn, isPlainObject, showName } from '../profile-upserts/attribute-rules';
import { profileUpsertKey } from '../profile-upserts/profile-upsert.record';
import { EVENT_HEADERS, EVENT_NAME_PATTERN, EVENT_SOURCE, EVENT_TS, IDEMPOTENCE_ID } from './events.topic';
import type { EventDataValue, ValidatedEvent } from './event.validator';

/** The value of an event.v1 record on PROFILE_UPSERTS_TOPIC (DESIGN §9, §10), JSON-encoded. */
export interface EventRecord {
  /** UUID v7, one per accepted item. */
  id: string;
  tenant: string;
  /** When ingest received the body (ISO 8601, UTC, milliseconds). */
  receivedAt: string;
  /** Event time (ISO 8601, UTC, milliseconds): the item's `data.ts`, else `receivedAt`. */
  ts: string;
  /** Where the record came from: `api.v3.events`. */
  source: string;
  type: string;
  action: string | null;
  /** The identifiers as accepted (raw values): a replay re-derives them under the rules of its time. */
  identifiers: Record<string, string | number | null>;
  /** `data` as accepted, `ts` removed, `idempotence_id` kept. */
  data: Record<string, EventDataValue>;
}

/** A record ready for EventLog.produce (structurally a LogRecordInput). */
export interface EventLogRecord {
  /** The record id: the stored key holds no personal data (DESIGN §4). */
  key: string;
  /** profileUpsertKey of the event's identifiers: the event shares its person's partition. Not stored. */
  partitionKey: string;
  /** JSON of an EventRecord. */
  value: string;
  headers: Record<string, string>;
}

/**
 * Turns validated events into log records, in item order: one UUID v7 per item, `receivedAt` shared
 * by the batch, `ts` the item's `data.ts` or `receivedAt`. The partition key follows the rule of
 * profile upserts, so an event and an upsert of the same person are applied in log order.
 * Throws (a programming error) on an empty tenant, an invalid date or an item without identifiers.
 */
export function buildEventRecords(
  tenant: string,
  items: readonly ValidatedEvent[],
  receivedAt: Date,
  rules: IdentifierRules,
  source: string = EVENT_SOURCE,
): EventLogRecord[] {
  if (typeof tenant !== 'string' || tenant.length === 0) throw new TypeError('buildEventRecords: tenant must be a non-empty string');
  const receivedAtIso = receivedAt.toISOString(); // RangeError on an invalid Date
  const out: EventLogRecord[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const id = uuidv7();
    const record: EventRecord = {
      id,
      tenant,
      receivedAt: receivedAtIso,
      ts: item.tsFromBody ? item.ts.toISOString() : receivedAtIso,
      source,
      type: item.type,
      action: item.action,
      identifiers: item.identifiers,
      data: item.data,
    };
    out[i] = {
      key: id,
      partitionKey: profileUpsertKey(tenant, item.normalised, rules),
      value: JSON.stringify(record),
      headers: { ...EVENT_HEADERS },
    };
  }
  return out;
}

/** `data.idempotence_id` of a record, or null. */
export function eventIdempotenceId(record: Pick<EventRecord, 'data'>): string | null {
  const id = isOwn(record.data, IDEMPOTENCE_ID) ? record.data[IDEMPOTENCE_ID] : null;
  return typeof id === 'string' && id.length > 0 ? id : null;
}

export type EventRecordParse = { ok: true; record: EventRecord } | { ok: false; error: string };

/**
 * The projector's strict decoder of an event.v1 value: UTF-8 JSON object with the fields of
 * EventRecord and the right types. As for profile upserts: the HTTP size limits are not re-applied,
 * identifiers are not resolved (the rules of the time of consumption apply, so an identifier type is
 * not checked against a tenant here), unknown top-level fields are ignored. Never throws; the error
 * names the field. Records that fail go to the DLQ.
 */
export function parseEventRecord(raw: Buffer | Uint8Array | string): EventRecordParse {
  const parsed = parseRecordEnvelope(raw);
  if (!parsed.ok) return parsed;
  const { id, tenant, receivedAt, ts, source } = parsed.envelope;
  const type = parsed.field('type');
  const action = parsed.field('action');
  const identifiers = parsed.field('identifiers');
  const data = parsed.field('data');
  if (typeof type !== 'string' || !EVENT_NAME_PATTERN.test(type)) return { ok: false, error: `\`type\` must be a string matching ${EVENT_NAME_PATTERN.source}` };
  if (action !== null && (typeof action !== 'string' || !EVENT_NAME_PATTERN.test(action))) {
    return { ok: false, error: `\`action\` must be null or a string matching ${EVENT_NAME_PATTERN.source}` };
  }
  if (!isPlainObject(identifiers)) return { ok: false, error: '`identifiers` must be an object' };
  if (!isPlainObject(data)) return { ok: false, error: '`data` must be an object' };

  // Copies with a null prototype, filled only with names that pass the attribute name rule (see the upsert decoder).
  const idCopy: Record<string, string | number | null> = {};
  const idNames = Object.keys(identifiers);
  if (idNames.length === 0) return { ok: false, error: '`identifiers` must hold at least one identifier' };
  for (const name of idNames) {
    const nameProblem = attributeNameProblem(name);
    if (nameProblem !== null) return { ok: false, error: `\`identifiers\`: ${nameProblem.replace('attribute name', 'identifier type')}` };
    const value = identifiers[name];
    if (!(value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)))) {
      return { ok: false, error: `\`identifiers.${name}\` must be a string, a number or null` };
    }
    const valueProblem = attributeValueProblem(value, false);
    if (valueProblem !== null) return { ok: false, error: `\`identifiers.${name}\` ${valueProblem}` };
    idCopy[name] = value;
  }
  Object.setPrototypeOf(idCopy, null);

  const dataCopy: Record<string, EventDataValue> = {};
  for (const name of Object.keys(data)) {
    if (name === EVENT_TS) return { ok: false, error: '`data.ts` must not be present (the event time is the record field `ts`)' };
    const nameProblem = attributeNameProblem(name);
    if (nameProblem !== null) return { ok: false, error: `\`data\`: ${nameProblem.replace('attribute name', 'field name')}` };
    const value = data[name];
    if (typeof value === 'object' && value !== null) return { ok: false, error: `\`data.${showName(name)}\` must be a string, a finite number, a boolean or null` };
    const valueProblem = attributeValueProblem(value, false);
    if (valueProblem !== null) return { ok: false, error: `\`data.${showName(name)}\` ${valueProblem}` };
    if (name === IDEMPOTENCE_ID && (typeof value !== 'string' || value.length === 0)) {
      return { ok: false, error: `\`data.${IDEMPOTENCE_ID}\` must be a non-empty string` };
    }
    dataCopy[name] = value as EventDataValue;
  }
  Object.setPrototypeOf(dataCopy, null);

  return { ok: true, record: { id, tenant, receivedAt, ts, source, type, action, identifiers: idCopy, data: dataCopy } };
}
