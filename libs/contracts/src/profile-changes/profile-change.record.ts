import { extractIdentifiers, isUuid, profileIdFor, type AttributeValue, type IdentifierRef, type IdentifierRules } from '@tessera/identity';
import { uuidv7 } from '../ids/uuid-v7';
import { parseRecordEnvelope } from '../records/record-envelope';
import { attributeNameProblem, attributeValueProblem, isPlainObject, showName, TS_ATTRIBUTE } from '../profile-upserts/attribute-rules';
import { profileUpsertKey } from '../profile-upserts/profile-upsert.record';
import { isPasswordHash } from './password-hash';
import {
  MAX_CUSTOMER_LENGTH,
  MAX_TAG_LENGTH,
  MAX_TAGS,
  PROFILE_CHANGE_HEADERS,
  PROFILE_CHANGE_OPS,
  PROFILE_CHANGE_SOURCE,
  type ProfileChangeOp,
} from './profile-changes.topic';
import { isProfileStatus, type ProfileStatus } from './system-attributes';

/** A contact as written: identifier type and value as the client sent it (normalised when applied). */
export interface ContactInput {
  type: string;
  value: string;
}

/**
 * The system fields a change sets (DESIGN §12). Absent = unchanged (patch), default (create/replace:
 * status active, no tags); the password hash and customer fields are only ever written when present.
 */
export interface ProfileChangeFields {
  status?: ProfileStatus;
  tags?: string[];
  /** scrypt hash (`scrypt$N$r$p$salt$hash`), never the plain password. */
  passwordHash?: string;
  customer?: string;
  isPrimary?: boolean;
}

interface ChangeEnvelope {
  /** UUID v7. A create's profile id is profileIdFor(id). */
  id: string;
  tenant: string;
  receivedAt: string;
  /** Same as receivedAt: a native write happens when it is received. */
  ts: string;
  source: string;
}

/** The value of a `profile-change.v1` record, JSON-encoded. Raw attributes, so a replay re-derives everything. */
export type ProfileChangeRecord = ChangeEnvelope &
  (
    | ({ op: 'create'; attributes: Record<string, AttributeValue> } & ProfileChangeFields)
    | ({ op: 'replace' | 'patch'; profileId: string; attributes: Record<string, AttributeValue> } & ProfileChangeFields)
    | { op: 'link-contact'; profileId: string; contact: ContactInput }
    | { op: 'unlink-contact'; profileId: string; contactId: string }
    | { op: 'replace-contact'; profileId: string; contactId: string; contact: ContactInput }
  );

/** One change as the native API hands it over (password already hashed). */
export type ProfileChangeInput =
  | ({ op: 'create'; attributes: Record<string, AttributeValue> } & ProfileChangeFields)
  | ({ op: 'replace' | 'patch'; profileId: string; attributes: Record<string, AttributeValue> } & ProfileChangeFields)
  | { op: 'link-contact'; profileId: string; contact: ContactInput }
  | { op: 'unlink-contact'; profileId: string; contactId: string }
  | { op: 'replace-contact'; profileId: string; contactId: string; contact: ContactInput };

/** A record ready for EventLog.produce (structurally a LogRecordInput). */
export interface ProfileChangeLogRecord {
  /** The record id: the stored key holds no personal data (DESIGN §4). */
  key: string;
  /** Not stored: a create's is the rule upserts use; a change naming a profile: `<tenant>:zaius_id:<id>`. */
  partitionKey: string;
  value: string;
  headers: Record<string, string>;
  /** The record id (= key), for the caller's wait. */
  id: string;
}

/**
 * The identifiers a change names, raw, in the shape the log's erasure redaction reads (`identifiers`, as
 * an event's): the profile it creates or names as `zaius_id`, and the contact. Redundant with the other
 * fields, and ignored by the decoder: it is there so that an erasure of the person redacts every one of
 * their native writes (attributes, password hash, contacts) from the log, whatever else they name.
 */
function namedIdentifiers(id: string, change: ProfileChangeInput): Record<string, string> {
  const named: Record<string, string> = { zaius_id: change.op === 'create' ? profileIdFor(id) : change.profileId };
  if ('contact' in change && change.contact.type !== 'zaius_id') named[change.contact.type] = change.contact.value;
  return named;
}

/** The partition key of a change naming a profile. */
export function profileChangeKey(tenant: string, profileId: string): string {
  return `${tenant}:zaius_id:${profileId}`;
}

/**
 * One record per change, in order, sharing `receivedAt` (= `ts`). A create needs at least one
 * identifier in its attributes (the caller validated them). Throws on programming errors only.
 */
export function buildProfileChangeRecords(
  tenant: string,
  changes: readonly ProfileChangeInput[],
  receivedAt: Date,
  rules: IdentifierRules,
  source: string = PROFILE_CHANGE_SOURCE,
): ProfileChangeLogRecord[] {
  if (typeof tenant !== 'string' || tenant.length === 0) throw new TypeError('buildProfileChangeRecords: tenant must be a non-empty string');
  const at = receivedAt.toISOString();
  return changes.map((change) => {
    const id = uuidv7();
    const record = { id, tenant, receivedAt: at, ts: at, source, ...change, identifiers: namedIdentifiers(id, change) };
    let partitionKey: string;
    if (change.op === 'create') {
      const identifiers = extractIdentifiers(change.attributes, rules).identifiers;
      if (identifiers.length === 0) throw new TypeError('buildProfileChangeRecords: a create needs at least one identifier');
      partitionKey = profileUpsertKey(tenant, identifiers, rules);
    } else partitionKey = profileChangeKey(tenant, change.profileId);
    return { id, key: id, partitionKey, value: JSON.stringify(record), headers: { ...PROFILE_CHANGE_HEADERS } };
  });
}

/**
 * The identifiers a change names, normalised under `rules` (what the erasure cut-off and the log's
 * redaction look for): the attributes' identifiers, the contact, and the profile it creates or names as a zaius_id.
 * A value that does not normalise is left out (the projector ignores it too).
 */
export function profileChangeIdentifierRefs(record: ProfileChangeRecord, rules: IdentifierRules): IdentifierRef[] {
  const refs: IdentifierRef[] = [];
  if ('attributes' in record) refs.push(...extractIdentifiers(record.attributes, rules).identifiers);
  if ('contact' in record) {
    const n = rules.normalise(record.contact.type, record.contact.value);
    if (n.ok) refs.push({ type: record.contact.type, value: n.value });
  }
  const named = 'profileId' in record ? record.profileId : profileIdFor(record.id);
  if (!refs.some((r) => r.type === 'zaius_id' && r.value === named)) refs.push({ type: 'zaius_id', value: named });
  return refs;
}

export type ProfileChangeRecordParse = { ok: true; record: ProfileChangeRecord } | { ok: false; error: string };

const CONTACT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const TYPE_NAME = /^[a-z][a-z0-9_]{0,63}$/;

function attributesProblem(attributes: unknown): { error: string } | { copy: Record<string, AttributeValue> } {
  if (!isPlainObject(attributes)) return { error: '`attributes` must be an object' };
  const copy: Record<string, AttributeValue> = {};
  for (const name of Object.keys(attributes)) {
    if (name === TS_ATTRIBUTE) return { error: '`attributes.ts` must not be present' };
    const nameProblem = attributeNameProblem(name);
    if (nameProblem !== null) return { error: `\`attributes\`: ${nameProblem}` };
    const valueProblem = attributeValueProblem(attributes[name], false);
    if (valueProblem !== null) return { error: `\`attributes.${showName(name)}\` ${valueProblem}` };
    copy[name] = attributes[name] as AttributeValue;
  }
  Object.setPrototypeOf(copy, null);
  return { copy };
}

function fieldsProblem(get: (name: string) => unknown): { error: string } | { fields: ProfileChangeFields } {
  const fields: ProfileChangeFields = {};
  const [status, tags, passwordHash, customer, isPrimary] = ['status', 'tags', 'passwordHash', 'customer', 'isPrimary'].map(get);
  if (status !== undefined) {
    if (!isProfileStatus(status)) return { error: '`status` must be one of active, closed, suspended' };
    fields.status = status;
  }
  if (tags !== undefined) {
    if (!Array.isArray(tags) || tags.length > MAX_TAGS || !tags.every((t) => typeof t === 'string' && t.length > 0 && t.length <= MAX_TAG_LENGTH)) {
      return { error: `\`tags\` must be an array of at most ${MAX_TAGS} strings of 1-${MAX_TAG_LENGTH} characters` };
    }
    fields.tags = [...tags];
  }
  if (passwordHash !== undefined) {
    if (!isPasswordHash(passwordHash)) return { error: '`passwordHash` must be a scrypt hash (scrypt$N$r$p$salt$hash)' };
    fields.passwordHash = passwordHash;
  }
  if (customer !== undefined) {
    if (typeof customer !== 'string' || customer.length === 0 || customer.length > MAX_CUSTOMER_LENGTH) return { error: `\`customer\` must be a string of 1-${MAX_CUSTOMER_LENGTH} characters` };
    fields.customer = customer;
  }
  if (isPrimary !== undefined) {
    if (typeof isPrimary !== 'boolean') return { error: '`isPrimary` must be a boolean' };
    fields.isPrimary = isPrimary;
  }
  return { fields };
}

function contactProblem(contact: unknown): { error: string } | { contact: ContactInput } {
  if (!isPlainObject(contact)) return { error: '`contact` must be an object' };
  const { type, value } = contact;
  if (typeof type !== 'string' || !TYPE_NAME.test(type)) return { error: '`contact.type` must be an identifier type name' };
  if (typeof value !== 'string' || value.length === 0 || value.length > 255) return { error: '`contact.value` must be a string of 1-255 characters' };
  return { contact: { type, value } };
}

/**
 * The projector's strict decoder of a profile-change value. Never throws; the error names the field.
 * Unknown fields are ignored (tolerant reader). A record that fails goes to the DLQ like any other.
 */
export function parseProfileChangeRecord(raw: Buffer | Uint8Array | string): ProfileChangeRecordParse {
  const parsed = parseRecordEnvelope(raw);
  if (!parsed.ok) return parsed;
  const envelope = parsed.envelope;
  const get = parsed.field;
  const op = get('op');
  if (!(PROFILE_CHANGE_OPS as readonly unknown[]).includes(op)) return { ok: false, error: `\`op\` must be one of ${PROFILE_CHANGE_OPS.join(', ')}` };
  const kind = op as ProfileChangeOp;
  const profileId = get('profileId');
  if (kind !== 'create' && !(typeof profileId === 'string' && isUuid(profileId))) return { ok: false, error: '`profileId` must be a UUID' };
  const id = profileId as string;
  switch (kind) {
    case 'create':
    case 'replace':
    case 'patch': {
      const attributes = attributesProblem(get('attributes'));
      if ('error' in attributes) return { ok: false, error: attributes.error };
      const fields = fieldsProblem(get);
      if ('error' in fields) return { ok: false, error: fields.error };
      const record =
        kind === 'create'
          ? { ...envelope, op: kind, attributes: attributes.copy, ...fields.fields }
          : { ...envelope, op: kind, profileId: id.toLowerCase(), attributes: attributes.copy, ...fields.fields };
      return { ok: true, record };
    }
    case 'link-contact': {
      const contact = contactProblem(get('contact'));
      if ('error' in contact) return { ok: false, error: contact.error };
      return { ok: true, record: { ...envelope, op: kind, profileId: id.toLowerCase(), contact: contact.contact } };
    }
    case 'unlink-contact':
    case 'replace-contact': {
      const contactId = get('contactId');
      if (typeof contactId !== 'string' || !CONTACT_ID.test(contactId)) return { ok: false, error: '`contactId` must be a contact id' };
      if (kind === 'unlink-contact') return { ok: true, record: { ...envelope, op: kind, profileId: id.toLowerCase(), contactId } };
      const contact = contactProblem(get('contact'));
      if ('error' in contact) return { ok: false, error: contact.error };
      return { ok: true, record: { ...envelope, op: kind, profileId: id.toLowerCase(), contactId, contact: contact.contact } };
    }
  }
}
