/**
 * Attribute rules shared by the HTTP validator and the record decoder (DESIGN §3).
 * Plain functions and constants only: this runs for every attribute of every item on the hot path.
 */

export const PROFILE_UPSERT_LIMITS = Object.freeze({
  /** Items per POST /v3/profiles body. */
  maxItems: 500,
  /** Attributes per item, `ts` not counted (it is not stored as an attribute). */
  maxAttributes: 256,
  /** Bytes of a string value (and of each string in an array), counted in UTF-8. */
  maxStringBytes: 8192,
  /** Elements of an array value. */
  maxArrayItems: 100,
});

export const ATTRIBUTE_NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

/** Names that are refused even though some of them match the pattern (prototype-pollution guards). */
export const RESERVED_ATTRIBUTE_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** The item field that carries the event time; it is taken out of the attributes. */
export const TS_ATTRIBUTE = 'ts';

const { maxStringBytes, maxArrayItems } = PROFILE_UPSERT_LIMITS;

export const ATTRIBUTE_VALUE_RULE =
  `must be a string of at most ${maxStringBytes} bytes, a finite number, a boolean, null or an array ` +
  `of at most ${maxArrayItems} strings/numbers`;

const hasOwn = Object.prototype.hasOwnProperty;
export function isOwn(object: object, key: string): boolean {
  return hasOwn.call(object, key);
}

/** A plain object as JSON.parse makes it (prototype Object.prototype or null); arrays and class instances are not. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// Names accepted before: records repeat the same few dozen names, and a Set hit is cheaper than the pattern.
const ACCEPTED_NAMES_MAX = 4096;
const acceptedNames = new Set<string>();

/** Why `name` may not be an attribute name, or null when it may. */
export function attributeNameProblem(name: string): string | null {
  if (acceptedNames.has(name)) return null;
  if (RESERVED_ATTRIBUTE_NAMES.has(name)) return `attribute name \`${name}\` is reserved and refused`;
  if (!ATTRIBUTE_NAME_PATTERN.test(name)) return `attribute name \`${showName(name)}\` must match ${ATTRIBUTE_NAME_PATTERN.source}`;
  if (acceptedNames.size >= ACCEPTED_NAMES_MAX) acceptedNames.clear();
  acceptedNames.add(name);
  return null;
}

type WellFormed = { isWellFormed(): boolean };
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** False when `s` holds a lone UTF-16 surrogate (JSON.parse accepts "\ud800"; it is not Unicode text). */
export const isWellFormedText: (s: string) => boolean =
  typeof (String.prototype as unknown as Partial<WellFormed>).isWellFormed === 'function'
    ? (s) => (s as unknown as WellFormed).isWellFormed()
    : (s) => !LONE_SURROGATE.test(s);

/** UTF-8 size of `s` exceeds the limit? Cheap for short strings: a UTF-16 unit is 1–3 UTF-8 bytes. */
function tooManyBytes(s: string): boolean {
  const n = s.length;
  if (n * 3 <= maxStringBytes) return false;
  if (n > maxStringBytes) return true;
  return Buffer.byteLength(s, 'utf8') > maxStringBytes;
}

function stringProblem(s: string, limits: boolean): string | null {
  if (limits && tooManyBytes(s)) {
    return `must be a string of at most ${maxStringBytes} bytes (UTF-8; got ${Buffer.byteLength(s, 'utf8')} bytes)`;
  }
  if (!isWellFormedText(s)) return 'must be valid Unicode text (it contains a lone UTF-16 surrogate)';
  // PostgreSQL text and jsonb cannot hold U+0000: refused here so an accepted item always applies.
  if (s.includes('\u0000')) return 'must not contain the NUL character (U+0000)';
  return null;
}

function arrayProblem(a: unknown[], limits: boolean): string | null {
  if (limits && a.length > maxArrayItems) {
    return `must be an array of at most ${maxArrayItems} strings/numbers (got ${a.length} items)`;
  }
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v === 'string') {
      const p = stringProblem(v, limits);
      if (p !== null) return `item ${i} ${p}`;
    } else if (typeof v !== 'number' || !Number.isFinite(v)) {
      return `item ${i} must be a string or a finite number` + (typeof v === 'number' ? ' (NaN and Infinity are not allowed)' : '');
    }
  }
  return null;
}

/**
 * Why `value` may not be an attribute value, as a predicate to put after "attribute `name` ",
 * or null when it may. `limits` applies the size limits (the HTTP API does; the record decoder does not,
 * so records accepted under older limits still replay).
 */
export function attributeValueProblem(value: unknown, limits = true): string | null {
  switch (typeof value) {
    case 'string':
      return stringProblem(value, limits);
    case 'number':
      return Number.isFinite(value)
        ? null
        : 'must be a finite number (NaN, Infinity and numbers beyond ±1.7976931348623157e308 are not allowed)';
    case 'boolean':
      return null;
    case 'object':
      if (value === null) return null;
      if (Array.isArray(value)) return arrayProblem(value, limits);
      return `${ATTRIBUTE_VALUE_RULE}; nested objects are not allowed`;
    default:
      return ATTRIBUTE_VALUE_RULE;
  }
}

/** A field name as it appears in a message: control characters escaped, at most 80 characters. */
export function showName(name: string): string {
  let shown = JSON.stringify(name).slice(1, -1);
  if (shown.length > 80) shown = `${shown.slice(0, 80)}…`;
  return shown;
}

/** A rejected value as it appears in a message: JSON, at most 80 characters. */
export function showValue(value: unknown): string {
  let shown: string;
  try {
    shown = value === undefined ? 'undefined' : typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    shown = Object.prototype.toString.call(value);
  }
  if (shown.length > 80) shown = `${shown.slice(0, 80)}…`;
  return shown;
}

/**
 * The look-up attribute that lists a profile's values of identifier type `type` (DESIGN §10):
 * `emails`, `vuids`, `fs_user_ids`. Upserts may not set it (it is reserved while the type exists).
 */
export function pluralIdentifierName(type: string): string {
  return `${type}s`;
}

/** Types a declared customer field may have (DESIGN §10 field schema). */
export const CUSTOMER_FIELD_TYPES = ['string', 'number', 'timestamp', 'boolean'] as const;
export type CustomerFieldType = (typeof CUSTOMER_FIELD_TYPES)[number];
/** A tenant's declared customer fields: name → declared type. */
export type DeclaredFieldTypes = ReadonlyMap<string, CustomerFieldType>;

export function isCustomerFieldType(value: unknown): value is CustomerFieldType {
  return (CUSTOMER_FIELD_TYPES as readonly unknown[]).includes(value);
}
