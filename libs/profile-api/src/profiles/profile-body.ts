import {
  attributeNameProblem,
  attributeValueProblem,
  hasFieldType,
  isProfileStatus,
  isWellFormedText,
  pluralsOf,
  PROFILE_STATUSES,
  PROFILE_UPSERT_LIMITS,
  TS_ATTRIBUTE,
  type DeclaredFieldTypes,
  type ProfileStatus,
} from '@tessera/contracts';
import { ZAIUS_ID, type AttributeValue, type IdentifierRules } from '@tessera/identity';

/**
 * The request bodies of the native profile writes (DESIGN §12), judged field by field so a 422 names
 * each bad field by its JSON path (`attributes.email`, `tags[1]`, `contacts[0].value`). Pure: no Nest.
 */

export interface FieldError {
  field: string;
  message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** What a body is judged against: the tenant's identifier rules and declared customer fields (as /v3 upserts). */
export interface BodyRules {
  identifiers: IdentifierRules;
  fields?: DeclaredFieldTypes;
}

export const TAG_LIMITS = Object.freeze({ maxTags: 100, maxLength: 100 });
export const PASSWORD_LIMITS = Object.freeze({ min: 8, max: 128 });
export const MAX_CONTACTS = 100;
/** Bounds the answer whatever the body: the first errors are listed, then a count. */
export const MAX_FIELD_ERRORS = 50;

/** A customer account's id (seed 000) as it appears in a path or a body. */
export const CUSTOMER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

export function isCustomerId(value: unknown): value is string {
  return typeof value === 'string' && CUSTOMER_ID_PATTERN.test(value);
}

/** The body's root, in `errors[].field`, when the body itself is wrong (not an object). */
export const ROOT_FIELD = '$';

export interface ContactInput {
  type: string;
  /** Normalised by the tenant's rules (the value the identifier row holds). */
  value: string;
}

export interface ProfileBody {
  /** Validated attributes, raw (the projector normalises identifiers as for an upsert); null clears. */
  attributes: Record<string, AttributeValue>;
  status?: ProfileStatus;
  tags?: string[];
  password?: string;
  customer?: string;
  isPrimary?: boolean;
  contacts: ContactInput[];
}

export type ProfileWriteMode = 'create' | 'replace' | 'patch';

export interface ProfileBodyOptions {
  mode: ProfileWriteMode;
  /** `customers`: the customer comes from the path (a body `customer` is read-only) and `password_confirm` is taken (seed 000). */
  route: 'profiles' | 'customers';
  /** replace/patch: the profile in the path; an `attributes.zaius_id` naming it is ignored (PUT back what you read). */
  profileId?: string;
}

/** Fields of the profile object a client reads but cannot write: ignored so what was read can be PUT back. */
const READ_ONLY_FIELDS: ReadonlySet<string> = new Set(['id', 'enabled', 'has_password', 'created_at', 'updated_at']);
const CONTACT_READ_ONLY_FIELDS: ReadonlySet<string> = new Set(['contact_id', 'created_at', 'updated_at']);
const PROFILE_FIELDS = ['attributes', 'status', 'tags', 'password', 'contacts', 'customer', 'is_primary'] as const;
const CUSTOMER_PROFILE_FIELDS = ['attributes', 'status', 'tags', 'password', 'password_confirm', 'contacts', 'is_primary'] as const;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && [Object.prototype, null].includes(Object.getPrototypeOf(v));
const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
/** A field name inside a path: control characters escaped, bounded. */
const shown = (name: string) => {
  const s = JSON.stringify(name).slice(1, -1);
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
};

class Errors {
  readonly list: FieldError[] = [];
  private dropped = 0;
  add(field: string, message: string): void {
    if (this.list.length < MAX_FIELD_ERRORS) this.list.push({ field, message });
    else this.dropped++;
  }
  done(): FieldError[] {
    return this.dropped ? [...this.list, { field: ROOT_FIELD, message: `… and ${this.dropped} more errors` }] : this.list;
  }
}

/** Parses a profile body (POST, PUT, PATCH of a profile or a customer's profile). Never throws for any JSON value. */
export function parseProfileBody(body: unknown, rules: BodyRules, options: ProfileBodyOptions): Parsed<ProfileBody> {
  if (!isPlainObject(body)) return { ok: false, errors: [{ field: ROOT_FIELD, message: 'the body must be a JSON object' }] };
  const errors = new Errors();
  const allowed: readonly string[] = options.route === 'customers' ? CUSTOMER_PROFILE_FIELDS : PROFILE_FIELDS;
  for (const name of Object.keys(body)) {
    if (allowed.includes(name) || READ_ONLY_FIELDS.has(name) || (options.route === 'customers' && name === 'customer')) continue;
    errors.add(shown(name), `is not a field of a profile (fields: ${allowed.join(', ')})`);
  }

  const out: ProfileBody = { attributes: {}, contacts: [] };
  let identified = false;
  if (has(body, 'attributes')) {
    identified = parseAttributes(body.attributes, rules, options, out, errors);
  } else if (options.mode === 'create') {
    errors.add('attributes', 'is required: an object with at least one identifier (or give one in `contacts`)');
  }
  if (has(body, 'contacts')) out.contacts = parseContacts(body.contacts, rules.identifiers, errors);
  if (options.mode === 'create' && !identified && out.contacts.length === 0 && !errors.list.some((e) => e.field.startsWith('attributes') || e.field.startsWith('contacts'))) {
    const types = rules.identifiers.types().filter((t) => t.type !== ZAIUS_ID).map((t) => t.type);
    errors.add('attributes', `must hold at least one identifier (${types.join(', ')}), or give one in \`contacts\``);
  }
  parseSystemFields(body, options, out, errors);
  const list = errors.done();
  return list.length ? { ok: false, errors: list } : { ok: true, value: out };
}

/** True when the attributes hold at least one identifier value. */
function parseAttributes(raw: unknown, rules: BodyRules, options: ProfileBodyOptions, out: ProfileBody, errors: Errors): boolean {
  if (!isPlainObject(raw)) {
    errors.add('attributes', 'must be an object of attribute name → value');
    return false;
  }
  const names = Object.keys(raw);
  if (names.length > PROFILE_UPSERT_LIMITS.maxAttributes) {
    errors.add('attributes', `must hold at most ${PROFILE_UPSERT_LIMITS.maxAttributes} attributes (got ${names.length})`);
    return false;
  }
  const plurals = pluralsOf(rules.identifiers);
  const attributes: Record<string, AttributeValue> = {};
  let identified = false;
  for (const name of names) {
    const field = `attributes.${shown(name)}`;
    const value = raw[name];
    const nameProblem = attributeNameProblem(name);
    if (nameProblem) {
      errors.add(field, nameProblem);
      continue;
    }
    if (name === TS_ATTRIBUTE) {
      errors.add(field, 'is the event time of /v3 upserts; a native write takes effect when it is received');
      continue;
    }
    if (plurals.has(name)) {
      errors.add(field, `is reserved: look-ups list the profile's \`${plurals.get(name)}\` values under it (use \`contacts\`)`);
      continue;
    }
    const valueProblem = attributeValueProblem(value, true);
    if (valueProblem) {
      errors.add(field, valueProblem);
      continue;
    }
    const declared = rules.fields?.get(name);
    if (declared && value !== null && !hasFieldType(value, declared)) {
      errors.add(field, `must be a ${declared} (a declared customer field)`);
      continue;
    }
    if (rules.identifiers.isIdentifier(name)) {
      const normalised = rules.identifiers.normalise(name, value);
      if (!normalised.ok && !normalised.blocked) {
        errors.add(field, normalised.reason);
        continue;
      }
      if (name === ZAIUS_ID) {
        // The profile id is Tessera's: a body may only repeat the id of the profile it writes.
        if (options.mode === 'create' || !normalised.ok || normalised.value !== options.profileId) {
          errors.add(field, options.mode === 'create' ? 'is the profile id, chosen by Tessera: leave it out' : 'must be the id of the profile in the path (or left out)');
        }
        continue;
      }
      if (normalised.ok) identified = true;
    }
    attributes[name] = Array.isArray(value) ? (value.slice() as Array<string | number>) : (value as AttributeValue);
  }
  out.attributes = attributes;
  return identified;
}

function parseContacts(raw: unknown, rules: IdentifierRules, errors: Errors): ContactInput[] {
  if (!Array.isArray(raw)) {
    errors.add('contacts', 'must be an array of contacts `{"key": …, "value": …}`');
    return [];
  }
  if (raw.length > MAX_CONTACTS) {
    errors.add('contacts', `must hold at most ${MAX_CONTACTS} contacts (got ${raw.length})`);
    return [];
  }
  const contacts: ContactInput[] = [];
  const seen = new Set<string>();
  raw.forEach((item, i) => {
    const contact = parseContactFields(item, rules, `contacts[${i}].`, 'post', undefined, errors);
    const key = contact && `${contact.type}\u0000${contact.value}`;
    if (contact && !seen.has(key!)) {
      seen.add(key!);
      contacts.push(contact);
    }
  });
  return contacts;
}

function parseSystemFields(body: Record<string, unknown>, options: ProfileBodyOptions, out: ProfileBody, errors: Errors): void {
  if (has(body, 'status')) {
    if (isProfileStatus(body.status)) out.status = body.status;
    else errors.add('status', `must be one of ${PROFILE_STATUSES.join(', ')}`);
  }
  if (has(body, 'tags')) out.tags = parseTags(body.tags, errors);
  if (has(body, 'password')) {
    const problem = passwordProblem(body.password);
    if (problem) errors.add('password', problem);
    else out.password = body.password as string;
  }
  if (options.route === 'customers' && has(body, 'password_confirm')) {
    // Seed 000: a confirmation of `password`, checked here and never stored.
    if (!has(body, 'password')) errors.add('password_confirm', 'is given without `password`');
    else if (body.password_confirm !== body.password) errors.add('password_confirm', 'must match `password`');
  }
  if (options.route === 'profiles' && has(body, 'customer')) {
    if (isCustomerId(body.customer)) out.customer = body.customer;
    else errors.add('customer', `must be a customer id matching ${CUSTOMER_ID_PATTERN.source}`);
  }
  if (has(body, 'is_primary')) {
    if (typeof body.is_primary === 'boolean') out.isPrimary = body.is_primary;
    else errors.add('is_primary', 'must be a boolean (true or false)');
  }
}

function parseTags(raw: unknown, errors: Errors): string[] | undefined {
  if (!Array.isArray(raw)) {
    errors.add('tags', `must be an array of at most ${TAG_LIMITS.maxTags} strings`);
    return undefined;
  }
  if (raw.length > TAG_LIMITS.maxTags) {
    errors.add('tags', `must hold at most ${TAG_LIMITS.maxTags} tags (got ${raw.length})`);
    return undefined;
  }
  const tags: string[] = [];
  raw.forEach((tag, i) => {
    const problem = tagProblem(tag);
    if (problem) errors.add(`tags[${i}]`, problem);
    else if (!tags.includes(tag as string)) tags.push(tag as string); // a repeated tag is kept once
  });
  return tags;
}

// Control characters (C0, DEL, C1) have no place in a tag or a password.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function tagProblem(tag: unknown): string | null {
  if (typeof tag !== 'string') return `must be a string of 1–${TAG_LIMITS.maxLength} characters`;
  const length = [...tag].length;
  if (length === 0 || length > TAG_LIMITS.maxLength) return `must be a string of 1–${TAG_LIMITS.maxLength} characters (got ${length})`;
  if (tag.trim() !== tag) return 'must not start or end with whitespace';
  if (!isWellFormedText(tag) || CONTROL.test(tag)) return 'must be text without control characters';
  return null;
}

function passwordProblem(password: unknown): string | null {
  const rule = `must be a string of ${PASSWORD_LIMITS.min}–${PASSWORD_LIMITS.max} characters`;
  if (typeof password !== 'string') return rule;
  const length = [...password].length;
  if (length < PASSWORD_LIMITS.min || length > PASSWORD_LIMITS.max) return `${rule} (got ${length})`;
  if (!isWellFormedText(password) || password.includes('\u0000')) return 'must be text without NUL or lone surrogates';
  return null;
}

/** A contact body: `{key, value}` (POST and PUT need both; PATCH either, the other kept from `existing`). */
export function parseContactBody(body: unknown, rules: IdentifierRules, mode: 'post' | 'put' | 'patch', existing?: { key: string; value: string }): Parsed<ContactInput> {
  if (!isPlainObject(body)) return { ok: false, errors: [{ field: ROOT_FIELD, message: 'the body must be a JSON object `{"key": …, "value": …}`' }] };
  const errors = new Errors();
  const contact = parseContactFields(body, rules, '', mode, existing, errors);
  const list = errors.done();
  return contact && !list.length ? { ok: true, value: contact } : { ok: false, errors: list };
}

/** One contact object at `prefix` (`contacts[0].` or ''): known fields, an identifier type of the tenant, a value that normalises. */
function parseContactFields(
  raw: unknown,
  rules: IdentifierRules,
  prefix: string,
  mode: 'post' | 'put' | 'patch',
  existing: { key: string; value: string } | undefined,
  errors: Errors,
): ContactInput | undefined {
  const at = prefix ? prefix.slice(0, -1) : ROOT_FIELD;
  if (!isPlainObject(raw)) {
    errors.add(at, 'must be a contact object `{"key": …, "value": …}`');
    return undefined;
  }
  let bad = false;
  for (const name of Object.keys(raw)) {
    if (name === 'key' || name === 'value' || CONTACT_READ_ONLY_FIELDS.has(name)) continue;
    errors.add(`${prefix}${shown(name)}`, 'is not a field of a contact (fields: key, value)');
    bad = true;
  }
  const keyGiven = has(raw, 'key');
  const valueGiven = has(raw, 'value');
  if (mode !== 'patch' || !existing) {
    if (!keyGiven) errors.add(`${prefix}key`, 'is required');
    if (!valueGiven) errors.add(`${prefix}value`, 'is required');
    if (!keyGiven || !valueGiven) return undefined;
  } else if (!keyGiven && !valueGiven) {
    errors.add(`${prefix}value`, 'is required (or `key`): a PATCH changes at least one of them');
    return undefined;
  }
  const key = keyGiven ? raw.key : existing!.key;
  const value = valueGiven ? raw.value : existing!.value;
  const types = rules.types().filter((t) => t.type !== ZAIUS_ID).map((t) => t.type);
  if (typeof key !== 'string' || key === ZAIUS_ID || !rules.isIdentifier(key)) {
    errors.add(`${prefix}key`, `must be an identifier type of the tenant (${types.join(', ')})`);
    return undefined;
  }
  const normalised = rules.normalise(key, value);
  if (!normalised.ok) {
    errors.add(`${prefix}value`, normalised.blocked ? `is a placeholder that identifies nobody; give a real ${key}` : normalised.reason);
    return undefined;
  }
  return bad ? undefined : { type: key, value: normalised.value };
}
