import { extractIdentifiers, ZAIUS_ID, type AttributeValue, type IdentifierRef, type IdentifierRules } from '@tessera/identity';
import {
  PROFILE_UPSERT_LIMITS,
  RESERVED_ATTRIBUTE_NAMES,
  ATTRIBUTE_NAME_PATTERN,
  TS_ATTRIBUTE,
  attributeValueProblem,
  isOwn,
  isPlainObject,
  pluralIdentifierName,
  showName,
  showValue,
  type CustomerFieldType,
  type DeclaredFieldTypes,
} from './attribute-rules';
import { MAX_EVENT_TIME_AHEAD_MS, TS_FUTURE_RULE, parseEventTime } from './event-time';

/**
 * The hot-path validator of the POST /v3/profiles body (DESIGN §3). Plain functions, no per-item
 * class instances: it runs on every item at tens of thousands of items per second.
 *
 * All-or-nothing: the caller publishes nothing unless `ok` is true. Every invalid item is listed,
 * with its index (0 for a single object) and a message naming the field and the rule; an item
 * with several problems gets them joined with '; ' (at most MAX_PROBLEMS_PER_ITEM).
 *
 * Output attributes are fresh null-prototype objects holding only names that passed the name rule,
 * so a body can never reach Object.prototype (`__proto__`, `constructor`, `prototype` are refused).
 */

/** A normalised identifier `{type, value}` (the identity lib's IdentifierRef). */
export type ProfileUpsertIdentifier = IdentifierRef;

export interface ValidatedProfileUpsert {
  /** The accepted attributes, `ts` removed. A null-prototype object; arrays are copies. */
  attributes: Record<string, AttributeValue>;
  /** Event time: the item's `ts`, else the time the body was received (`opts.receivedAt`). */
  ts: Date;
  /** True when `ts` came from the item; false when it defaulted to the received time. */
  tsFromBody: boolean;
  /** Normalised identifiers in priority order (zaius_id, customer_id, email, phone, vuid, custom); never empty. */
  identifiers: ProfileUpsertIdentifier[];
}

export interface ProfileUpsertInvalid {
  /** Position of the item in the body array (0 for a single object). */
  event: number;
  message: string;
}

export type ProfileUpsertValidation =
  | { ok: true; items: ValidatedProfileUpsert[] }
  | { ok: false; invalids: ProfileUpsertInvalid[] }
  | { ok: false; bodyError: string };

export type ProfileUpsertItemValidation = { ok: true; item: ValidatedProfileUpsert } | { ok: false; message: string };

export interface ValidateProfileUpsertOptions {
  /** Items per body. Default 500. */
  maxItems?: number;
  /** Default event time of items without `ts`. Default: now (read once per body). Pass the same Date to buildProfileUpsertRecords. */
  receivedAt?: Date;
  /**
   * The tenant's declared customer fields (DESIGN §10 field schema, `TenantRepository.fieldsOf`): a
   * value of another type makes the item invalid; `null` always passes (it clears). Undeclared
   * attributes are not affected.
   */
  fields?: DeclaredFieldTypes;
}

export const MAX_PROBLEMS_PER_ITEM = 10;

export const MISSING_ATTRIBUTES = 'Missing required field `attributes`';
export const IDENTIFIER_REQUIRED =
  'at least one identifier is required (email, phone, customer_id, vuid, zaius_id …)';

const { maxAttributes } = PROFILE_UPSERT_LIMITS;

/** Validates a parsed JSON body. Never throws for any JSON value. */
export function validateProfileUpsertBody(
  body: unknown,
  rules: IdentifierRules,
  opts: ValidateProfileUpsertOptions = {},
): ProfileUpsertValidation {
  const maxItems = opts.maxItems ?? PROFILE_UPSERT_LIMITS.maxItems;
  const receivedAt = opts.receivedAt ?? new Date();
  let list: readonly unknown[];
  if (Array.isArray(body)) {
    if (body.length === 0) {
      return { ok: false, bodyError: `body must be an object or an array of 1 to ${maxItems} objects; the array is empty` };
    }
    if (body.length > maxItems) {
      return {
        ok: false,
        bodyError: `body must be an object or an array of 1 to ${maxItems} objects; got ${body.length} items (limit ${maxItems})`,
      };
    }
    list = body;
  } else if (typeof body === 'object' && body !== null) {
    list = [body];
  } else {
    return { ok: false, bodyError: `body must be an object or an array of 1 to ${maxItems} objects` };
  }

  const items: ValidatedProfileUpsert[] = new Array(list.length);
  let invalids: ProfileUpsertInvalid[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const r = validateProfileUpsertItem(list[i], rules, receivedAt, opts.fields);
    if (r.ok) items[i] = r.item;
    else (invalids ??= []).push({ event: i, message: r.message });
  }
  if (invalids !== undefined) return { ok: false, invalids };
  return { ok: true, items };
}

/** Validates one item `{"attributes": {…}}`. Never throws for any JSON value. */
export function validateProfileUpsertItem(
  item: unknown,
  rules: IdentifierRules,
  receivedAt: Date,
  declaredFields?: DeclaredFieldTypes,
): ProfileUpsertItemValidation {
  if (!isPlainObject(item)) {
    return { ok: false, message: 'item must be an object `{"attributes": {…}}`' };
  }
  let problems: string[] | undefined;
  const fields = Object.keys(item);
  let hasAttributes = false;
  for (let f = 0; f < fields.length; f++) {
    if (fields[f] === 'attributes') hasAttributes = true;
    else (problems ??= []).push(`unknown field \`${showName(fields[f])}\` (an item has only \`attributes\`)`);
  }
  if (!hasAttributes) return fail([MISSING_ATTRIBUTES, ...(problems ?? [])]);
  const attrs = item.attributes;
  if (!isPlainObject(attrs)) return fail([...(problems ?? []), '`attributes` must be an object']);

  const names = Object.keys(attrs);
  const hasTs = isOwn(attrs, TS_ATTRIBUTE);
  const count = hasTs ? names.length - 1 : names.length;
  if (count > maxAttributes) {
    return fail([...(problems ?? []), `\`attributes\` must hold at most ${maxAttributes} attributes (got ${count})`]);
  }

  // Built as a plain literal and given a null prototype at the end: V8 keeps it in fast mode (an
  // Object.create(null) object is a hash table — ~1.6x slower to fill and to JSON.stringify).
  // Safe while filling: only names matching ^[a-z][a-z0-9_]{0,63}$ other than `constructor` are
  // assigned, and no such name is an accessor or method of Object.prototype (`__proto__` cannot match).
  const out: Record<string, AttributeValue> = {};
  const plurals = pluralsOf(rules);
  const declared = declaredFields !== undefined && declaredFields.size > 0 ? declaredFields : undefined;
  for (let n = 0; n < names.length; n++) {
    const name = names[n];
    if (name === TS_ATTRIBUTE) continue;
    if (!ATTRIBUTE_NAME_PATTERN.test(name)) {
      (problems ??= []).push(
        name === '__proto__'
          ? 'attribute name `__proto__` is reserved and refused'
          : `attribute name \`${showName(name)}\` must match ${ATTRIBUTE_NAME_PATTERN.source}`,
      );
      continue;
    }
    if (RESERVED_ATTRIBUTE_NAMES.has(name)) {
      (problems ??= []).push(`attribute name \`${name}\` is reserved and refused`);
      continue;
    }
    const pluralOf = plurals.get(name);
    if (pluralOf !== undefined) {
      (problems ??= []).push(`attribute name \`${name}\` is reserved: look-ups list the profile's \`${pluralOf}\` values under it`);
      continue;
    }
    const value = attrs[name];
    const problem = attributeValueProblem(value, true);
    if (problem !== null) {
      (problems ??= []).push(`attribute \`${name}\` ${problem}`);
      continue;
    }
    const fieldType = declared?.get(name);
    if (fieldType !== undefined && value !== null && !hasFieldType(value, fieldType)) {
      (problems ??= []).push(`attribute \`${name}\` ${FIELD_TYPE_RULES[fieldType]} (declared field of type ${fieldType}; got ${showValue(value)})`);
      continue;
    }
    out[name] = Array.isArray(value) ? (value.slice() as Array<string | number>) : (value as AttributeValue);
  }

  Object.setPrototypeOf(out, null);

  let ts = receivedAt;
  if (hasTs) {
    const t = parseEventTime(attrs[TS_ATTRIBUTE]);
    if (!t.ok) (problems ??= []).push(t.message);
    else if (t.ms - receivedAt.getTime() > MAX_EVENT_TIME_AHEAD_MS) {
      (problems ??= []).push(`${TS_FUTURE_RULE} (got ${new Date(t.ms).toISOString()}, received at ${receivedAt.toISOString()})`);
    } else ts = new Date(t.ms);
  }

  // The identity rules judge identifier values (an email must look like one, a zaius_id must be a UUID, …).
  const extracted = extractIdentifiers(out, rules);
  for (let k = 0; k < extracted.invalid.length; k++) {
    const { field, reason } = extracted.invalid[k];
    (problems ??= []).push(identifierMessage(field, reason));
  }
  if (problems !== undefined) return fail(problems);
  if (extracted.identifiers.length === 0) return { ok: false, message: IDENTIFIER_REQUIRED };

  return {
    ok: true,
    item: { attributes: out, ts, tsFromBody: hasTs, identifiers: extracted.identifiers },
  };
}

/** Plural attribute name → identifier type, per rules instance (tenants' rules are cached, so this is too). */
const PLURALS = new WeakMap<IdentifierRules, ReadonlyMap<string, string>>();

/** The reserved plural names of the rules' identifier types (not zaius_id: it is the profile id, listed by no look-up). */
export function pluralsOf(rules: IdentifierRules): ReadonlyMap<string, string> {
  let plurals = PLURALS.get(rules);
  if (plurals === undefined) {
    plurals = new Map(rules.types().filter((t) => t.type !== ZAIUS_ID).map((t) => [pluralIdentifierName(t.type), t.type]));
    PLURALS.set(rules, plurals);
  }
  return plurals;
}

const FIELD_TYPE_RULES: Record<CustomerFieldType, string> = {
  string: 'must be a string',
  number: 'must be a number',
  boolean: 'must be a boolean (true or false)',
  timestamp: 'must be a timestamp: epoch seconds, epoch milliseconds or an ISO 8601 date or date-time with an offset',
};

/** Does an (already well-formed) attribute value have a declared field's type? Timestamps take the `ts` formats (DESIGN §3). */
export function hasFieldType(value: unknown, type: CustomerFieldType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'timestamp':
      return (typeof value === 'number' || typeof value === 'string') && parseEventTime(value).ok;
  }
}

function identifierMessage(field: string, reason: string): string {
  // The identity rules' reasons may or may not name the field; make sure the message does.
  return reason.includes(`\`${field}\``) ? reason : `\`${field}\` ${reason}`;
}

function fail(problems: string[]): { ok: false; message: string } {
  if (problems.length <= MAX_PROBLEMS_PER_ITEM) return { ok: false, message: problems.join('; ') };
  const more = problems.length - MAX_PROBLEMS_PER_ITEM;
  return { ok: false, message: `${problems.slice(0, MAX_PROBLEMS_PER_ITEM).join('; ')}; … and ${more} more` };
}
