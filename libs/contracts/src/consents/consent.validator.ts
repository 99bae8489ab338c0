import type { IdentifierRules } from '@tessera/identity';
import { isOwn, isPlainObject, isWellFormedText } from '../profile-upserts/attribute-rules';
import { MAX_EVENT_TIME_AHEAD_MS, parseEventTime } from '../profile-upserts/event-time';
import { CONSENT_FIELD, CONSENT_LIMITS } from './consents.topic';

/** One valid item of POST /v3/consent: the identifier normalised as on ingest. */
export interface ValidatedConsent {
  identifierType: string;
  /** Normalised (IdentifierRules), so `Ann@Example.com` and `ann@example.com` are one consent. */
  identifierValue: string;
  consent: boolean;
  reason: string | null;
  /** `consent_update_ts`, else the time the body was received. */
  updateTs: Date;
}

export interface ConsentInvalid {
  /** Position of the item in the body array (0 for a single object). */
  event: number;
  message: string;
}

export type ConsentValidation =
  | { ok: true; items: ValidatedConsent[] }
  | { ok: false; invalids: ConsentInvalid[] }
  | { ok: false; bodyError: string };

const KNOWN_FIELDS: ReadonlySet<string> = new Set(Object.values(CONSENT_FIELD));
const FIELD_LIST = [CONSENT_FIELD.type, CONSENT_FIELD.value, CONSENT_FIELD.consent, CONSENT_FIELD.reason, CONSENT_FIELD.updateTs].join(', ');

/** Validates one item; every problem of the item is named (joined by `; `). Never throws. */
export function validateConsentItem(item: unknown, rules: IdentifierRules, receivedAt: Date): { ok: true; item: ValidatedConsent } | { ok: false; message: string } {
  if (!isPlainObject(item)) {
    return { ok: false, message: 'item must be an object `{"identifier_field_name": "email", "identifier_value": "…", "consent": true|false}`' };
  }
  const problems: string[] = [];
  const get = (k: string): unknown => (isOwn(item, k) ? item[k] : undefined);
  for (const name of Object.keys(item)) {
    if (!KNOWN_FIELDS.has(name)) problems.push(`\`${name.slice(0, 64)}\` is not a field of a consent item (${FIELD_LIST})`);
  }

  // Step 1: the identifier, normalised under the tenant's rules (its custom types included).
  const type = get(CONSENT_FIELD.type);
  const raw = get(CONSENT_FIELD.value);
  let identifierValue: string | undefined;
  if (typeof type !== 'string' || type.length === 0) {
    problems.push(`\`${CONSENT_FIELD.type}\` is required: an identifier type (${rules.types().map((t) => t.type).join(', ')})`);
  } else if (!rules.isIdentifier(type)) {
    problems.push(`\`${CONSENT_FIELD.type}\` ${JSON.stringify(type.slice(0, 64))} is not an identifier type of this tenant (${rules.types().map((t) => t.type).join(', ')})`);
  } else if (raw === undefined || raw === null) {
    problems.push(`\`${CONSENT_FIELD.value}\` is required`);
  } else if (typeof raw === 'string' && raw.includes('\u0000')) {
    problems.push(`\`${CONSENT_FIELD.value}\` must not contain the NUL character (U+0000)`);
  } else {
    const normalised = rules.normalise(type, raw);
    if (normalised.ok) identifierValue = normalised.value;
    else if (normalised.blocked) problems.push(`\`${CONSENT_FIELD.value}\` is not a usable ${type} (empty, or a placeholder such as "null" or "guest")`);
    else problems.push(`\`${CONSENT_FIELD.value}\` ${normalised.reason}`);
  }

  // Step 2: the consent itself.
  const consent = get(CONSENT_FIELD.consent);
  if (typeof consent !== 'boolean') problems.push(`\`${CONSENT_FIELD.consent}\` is required: true or false`);

  const reason = get(CONSENT_FIELD.reason);
  if (reason !== undefined && reason !== null) {
    if (typeof reason !== 'string' || reason.length > CONSENT_LIMITS.maxReasonLength) {
      problems.push(`\`${CONSENT_FIELD.reason}\` must be a string of at most ${CONSENT_LIMITS.maxReasonLength} characters`);
    } else if (reason.includes('\u0000') || !isWellFormedText(reason)) {
      problems.push(`\`${CONSENT_FIELD.reason}\` must be well-formed text without NUL characters`);
    }
  }

  // Step 3: when it was given (§3 time formats); later consent wins, so a far-future time is refused.
  let updateTs = receivedAt;
  const ts = get(CONSENT_FIELD.updateTs);
  if (ts !== undefined && ts !== null) {
    const parsed = parseEventTime(ts);
    if (!parsed.ok) problems.push(parsed.message.replace(/`ts`/g, `\`${CONSENT_FIELD.updateTs}\``));
    else if (parsed.ms > receivedAt.getTime() + MAX_EVENT_TIME_AHEAD_MS) problems.push(`\`${CONSENT_FIELD.updateTs}\` is more than 1 hour after the time the item was received`);
    else updateTs = new Date(parsed.ms);
  }

  const eventData = get(CONSENT_FIELD.eventData);
  if (eventData !== undefined && eventData !== null && !isPlainObject(eventData)) problems.push(`\`${CONSENT_FIELD.eventData}\` must be an object`);

  if (problems.length) return { ok: false, message: problems.join('; ') };
  return {
    ok: true,
    item: { identifierType: type as string, identifierValue: identifierValue!, consent: consent as boolean, reason: typeof reason === 'string' ? reason : null, updateTs },
  };
}

/** POST /v3/consent body: one object or an array of 1–100; all-or-nothing, every invalid item listed. */
export function validateConsentBody(body: unknown, rules: IdentifierRules, options: { receivedAt: Date }): ConsentValidation {
  const max = CONSENT_LIMITS.maxItems;
  let list: unknown[];
  if (Array.isArray(body)) {
    if (body.length === 0) return { ok: false, bodyError: `body must be an object or an array of 1 to ${max} objects; the array is empty` };
    if (body.length > max) return { ok: false, bodyError: `body must be an object or an array of 1 to ${max} objects; got ${body.length} items (limit ${max})` };
    list = body;
  } else if (isPlainObject(body)) {
    list = [body];
  } else {
    return { ok: false, bodyError: `body must be an object or an array of 1 to ${max} objects` };
  }
  const items: ValidatedConsent[] = [];
  const invalids: ConsentInvalid[] = [];
  list.forEach((entry, index) => {
    const r = validateConsentItem(entry, rules, options.receivedAt);
    if (r.ok) items.push(r.item);
    else invalids.push({ event: index, message: r.message });
  });
  return invalids.length ? { ok: false, invalids } : { ok: true, items };
}
