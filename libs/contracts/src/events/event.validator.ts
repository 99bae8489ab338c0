import { extractIdentifiers, type IdentifierRef, type IdentifierRules } from '@tessera/identity';
import {
  ATTRIBUTE_NAME_PATTERN,
  RESERVED_ATTRIBUTE_NAMES,
  attributeValueProblem,
  isOwn,
  isPlainObject,
  showName,
  showValue,
} from '../profile-upserts/attribute-rules';
import { MAX_EVENT_TIME_AHEAD_MS, TS_FUTURE_RULE, parseEventTime } from '../profile-upserts/event-time';
import { MAX_PROBLEMS_PER_ITEM } from '../profile-upserts/profile-upsert.validator';
import { EVENT_LIMITS, EVENT_NAME_PATTERN, EVENT_TS, IDEMPOTENCE_ID } from './events.topic';

/**
 * The validator of the POST /v3/events body (DESIGN §10). Same contract as the profile upsert
 * validator: all-or-nothing, every invalid item listed by index with a message naming the field,
 * never throws for any JSON value, outputs are fresh null-prototype objects.
 *
 * Identifier values go through the identity rules exactly as an upsert's do (extractIdentifiers →
 * IdentifierRules.normalise: blocked values, zaius_id a UUID, customer_id string or integer, email,
 * E.164 phone); only the unknown-type check is the event's own — an upsert attribute that is not an
 * identifier is just an attribute, an `identifiers` key that is not one is a mistake.
 */

/** Scalar values of `data` (flat: no arrays, no objects). */
export type EventDataValue = string | number | boolean | null;

export interface ValidatedEvent {
  type: string;
  /** `null` when the item has no `action`. */
  action: string | null;
  /** The identifiers as accepted (raw values, blocked ones included), a null-prototype object. */
  identifiers: Record<string, string | number | null>;
  /** The identifiers normalised, highest priority first; never empty. */
  normalised: IdentifierRef[];
  /** `data` as accepted, `ts` removed, `idempotence_id` kept. A null-prototype object. */
  data: Record<string, EventDataValue>;
  /** Event time: `data.ts`, else the time the body was received. */
  ts: Date;
  tsFromBody: boolean;
  /** `data.idempotence_id`, or null. */
  idempotenceId: string | null;
}

export interface EventInvalid {
  /** Position of the item in the body array (0 for a single object). */
  event: number;
  message: string;
}

export type EventValidation =
  | { ok: true; items: ValidatedEvent[] }
  | { ok: false; invalids: EventInvalid[] }
  | { ok: false; bodyError: string };

export type EventItemValidation = { ok: true; item: ValidatedEvent } | { ok: false; message: string };

export interface ValidateEventOptions {
  /** Items per body. Default 500. */
  maxItems?: number;
  /** Default event time of items without `data.ts`. Default: now. Pass the same Date to buildEventRecords. */
  receivedAt?: Date;
}

export const EVENT_FIELDS = ['type', 'action', 'identifiers', 'data'] as const;
export const MISSING_TYPE = 'Missing required field `type`';
export const MISSING_IDENTIFIERS = 'Missing required field `identifiers`';
export const EVENT_IDENTIFIER_REQUIRED =
  '`identifiers` must hold at least one identifier (email, phone, customer_id, vuid, zaius_id or a custom type of the tenant)';
export const EVENT_DATA_VALUE_RULE = 'must be a string of at most 8192 bytes, a finite number, a boolean or null';

const { maxDataKeys, maxIdempotenceIdLength } = EVENT_LIMITS;

/** Validates a parsed JSON body. Never throws for any JSON value. */
export function validateEventBody(body: unknown, rules: IdentifierRules, opts: ValidateEventOptions = {}): EventValidation {
  const maxItems = opts.maxItems ?? EVENT_LIMITS.maxItems;
  const receivedAt = opts.receivedAt ?? new Date();
  let list: readonly unknown[];
  if (Array.isArray(body)) {
    if (body.length === 0) {
      return { ok: false, bodyError: `body must be an object or an array of 1 to ${maxItems} objects; the array is empty` };
    }
    if (body.length > maxItems) {
      return { ok: false, bodyError: `body must be an object or an array of 1 to ${maxItems} objects; got ${body.length} items (limit ${maxItems})` };
    }
    list = body;
  } else if (typeof body === 'object' && body !== null) {
    list = [body];
  } else {
    return { ok: false, bodyError: `body must be an object or an array of 1 to ${maxItems} objects` };
  }

  const items: ValidatedEvent[] = new Array(list.length);
  let invalids: EventInvalid[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const r = validateEventItem(list[i], rules, receivedAt);
    if (r.ok) items[i] = r.item;
    else (invalids ??= []).push({ event: i, message: r.message });
  }
  if (invalids !== undefined) return { ok: false, invalids };
  return { ok: true, items };
}

/** Validates one item `{"type", "action"?, "identifiers", "data"?}`. Never throws for any JSON value. */
export function validateEventItem(item: unknown, rules: IdentifierRules, receivedAt: Date): EventItemValidation {
  if (!isPlainObject(item)) {
    return { ok: false, message: 'item must be an object `{"type": …, "action": …, "identifiers": {…}, "data": {…}}`' };
  }
  const problems: string[] = [];
  for (const field of Object.keys(item)) {
    if (!(EVENT_FIELDS as readonly string[]).includes(field)) {
      problems.push(`unknown field \`${showName(field)}\` (an event has only \`type\`, \`action\`, \`identifiers\` and \`data\`)`);
    }
  }

  // Step 1: type and action.
  const type = isOwn(item, 'type') ? item.type : undefined;
  if (type === undefined) problems.push(MISSING_TYPE);
  else {
    const p = nameProblem('type', type);
    if (p !== null) problems.push(p);
  }
  const action = isOwn(item, 'action') ? item.action : undefined;
  if (action !== undefined && action !== null) {
    const p = nameProblem('action', action);
    if (p !== null) problems.push(p);
  }

  // Step 2: identifiers — every key a type the tenant knows, every value as the upsert rules say.
  const identifiers: Record<string, string | number | null> = {};
  let normalised: IdentifierRef[] = [];
  const ids = isOwn(item, 'identifiers') ? item.identifiers : undefined;
  if (ids === undefined) problems.push(MISSING_IDENTIFIERS);
  else if (!isPlainObject(ids)) problems.push(`\`identifiers\` must be an object of identifier type → value (got ${showValue(ids)})`);
  else {
    let known = 0;
    let knownList: string | undefined;
    for (const name of Object.keys(ids)) {
      if (!rules.isIdentifier(name)) {
        knownList ??= rules.types().map((t) => t.type).join(', ');
        problems.push(
          `\`identifiers.${showName(name)}\` is not an identifier type of this tenant (known: ${knownList}; ` +
            'declare custom types with POST /v3/schema/identifiers)',
        );
        continue;
      }
      known++;
      const value = ids[name];
      // Text the database cannot hold (NUL, lone surrogates) is refused as for an upsert's attributes.
      const textProblem = typeof value === 'string' ? attributeValueProblem(value, true) : null;
      if (textProblem !== null) {
        problems.push(`\`identifiers.${name}\` ${textProblem}`);
        continue;
      }
      // Safe: `name` is a known type, i.e. an attribute name that is not `__proto__`/`constructor`/`prototype`.
      identifiers[name] = value as string | number | null;
    }
    if (known > 0) {
      const extracted = extractIdentifiers(identifiers, rules);
      for (const { field, reason } of extracted.invalid) problems.push(identifierMessage(field, reason));
      normalised = extracted.identifiers;
    }
  }
  Object.setPrototypeOf(identifiers, null);

  // Step 3: data — a flat map; `ts` taken out as the event time, `idempotence_id` checked and kept.
  const data: Record<string, EventDataValue> = {};
  let ts = receivedAt;
  let tsFromBody = false;
  let idempotenceId: string | null = null;
  const rawData = isOwn(item, 'data') ? item.data : undefined;
  if (rawData !== undefined && !isPlainObject(rawData)) {
    problems.push(`\`data\` must be an object of field → value (got ${showValue(rawData)})`);
  } else if (rawData !== undefined) {
    const names = Object.keys(rawData);
    const hasTs = isOwn(rawData, EVENT_TS);
    const count = hasTs ? names.length - 1 : names.length;
    if (count > maxDataKeys) problems.push(`\`data\` must hold at most ${maxDataKeys} fields (got ${count})`);
    else {
      for (const name of names) {
        if (name === EVENT_TS) continue;
        if (!ATTRIBUTE_NAME_PATTERN.test(name) || RESERVED_ATTRIBUTE_NAMES.has(name)) {
          problems.push(
            RESERVED_ATTRIBUTE_NAMES.has(name)
              ? `\`data\` field name \`${name}\` is reserved and refused`
              : `\`data\` field name \`${showName(name)}\` must match ${ATTRIBUTE_NAME_PATTERN.source}`,
          );
          continue;
        }
        const value = rawData[name];
        const p = dataValueProblem(value);
        if (p !== null) {
          problems.push(`\`data.${name}\` ${p}`);
          continue;
        }
        if (name === IDEMPOTENCE_ID) {
          if (typeof value !== 'string' || value.length === 0 || value.length > maxIdempotenceIdLength) {
            problems.push(`\`data.${IDEMPOTENCE_ID}\` must be a string of 1-${maxIdempotenceIdLength} characters (got ${showValue(value)})`);
            continue;
          }
          idempotenceId = value;
        }
        data[name] = value as EventDataValue;
      }
      if (hasTs) {
        const t = parseEventTime(rawData[EVENT_TS]);
        if (!t.ok) problems.push(inData(t.message));
        else if (t.ms - receivedAt.getTime() > MAX_EVENT_TIME_AHEAD_MS) {
          problems.push(inData(`${TS_FUTURE_RULE} (got ${new Date(t.ms).toISOString()}, received at ${receivedAt.toISOString()})`));
        } else {
          ts = new Date(t.ms);
          tsFromBody = true;
        }
      }
    }
  }
  Object.setPrototypeOf(data, null);

  if (problems.length > 0) return fail(problems);
  if (normalised.length === 0) return { ok: false, message: EVENT_IDENTIFIER_REQUIRED };
  return {
    ok: true,
    item: { type: type as string, action: (action ?? null) as string | null, identifiers, normalised, data, ts, tsFromBody, idempotenceId },
  };
}

function nameProblem(field: 'type' | 'action', value: unknown): string | null {
  if (typeof value === 'string' && EVENT_NAME_PATTERN.test(value)) return null;
  return `\`${field}\` must be a string matching ${EVENT_NAME_PATTERN.source} (got ${showValue(value)})`;
}

/** A predicate after "`data.<name>` ", or null when the value may be a data value. */
function dataValueProblem(value: unknown): string | null {
  if (typeof value === 'object' && value !== null) return `${EVENT_DATA_VALUE_RULE}; arrays and nested objects are not allowed`;
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') return EVENT_DATA_VALUE_RULE;
  return attributeValueProblem(value, true);
}

/** The shared event-time messages say `ts`; on an event the field is `data.ts`. */
function inData(message: string): string {
  return message.startsWith('`ts`') ? `\`data.ts\`${message.slice(4)}` : message;
}

function identifierMessage(field: string, reason: string): string {
  return `\`identifiers.${field}\` ${reason.replace(`\`${field}\` `, '')}`;
}

function fail(problems: string[]): { ok: false; message: string } {
  if (problems.length <= MAX_PROBLEMS_PER_ITEM) return { ok: false, message: problems.join('; ') };
  const more = problems.length - MAX_PROBLEMS_PER_ITEM;
  return { ok: false, message: `${problems.slice(0, MAX_PROBLEMS_PER_ITEM).join('; ')}; … and ${more} more` };
}
