import type { IdentifierRules } from '@tessera/identity';
import { isOwn, isPlainObject } from '../profile-upserts/attribute-rules';
import { MAX_ERASURE_ITEMS, MAX_REQUESTER_LENGTH } from './erasures.topic';

/**
 * The body of POST /v3/compliance/{regulation}/delete (DESIGN §11): an array of 1-100
 * `{"requester","identifier_field_name","identifier_value"}` (a single object is taken as one item).
 * All-or-nothing like the other v3 routes: every invalid item is listed with its index and a message
 * naming the field. Unknown fields are ignored.
 */
export interface ValidatedErasureRequest {
  requester: string;
  identifierType: string;
  /** Normalised as on ingest (IdentifierRules.normalise). */
  identifierValue: string;
}

export type ErasureRequestValidation =
  | { ok: true; items: ValidatedErasureRequest[] }
  | { ok: false; invalids: Array<{ event: number; message: string }> }
  | { ok: false; bodyError: string };

export const ERASURE_FIELD = Object.freeze({
  requester: 'requester',
  type: 'identifier_field_name',
  value: 'identifier_value',
} as const);

function itemProblems(item: unknown, rules: IdentifierRules): { problems: string[]; item?: ValidatedErasureRequest } {
  if (!isPlainObject(item)) return { problems: ['item must be an object with requester, identifier_field_name and identifier_value'] };
  const get = (k: string): unknown => (isOwn(item, k) ? item[k] : undefined);
  const problems: string[] = [];
  const requester = get(ERASURE_FIELD.requester);
  if (requester === undefined) problems.push('`requester` is required');
  else if (typeof requester !== 'string' || requester.trim().length === 0 || requester.length > MAX_REQUESTER_LENGTH || requester.includes('\u0000')) {
    problems.push(`\`requester\` must be a string of 1-${MAX_REQUESTER_LENGTH} characters`);
  }
  const type = get(ERASURE_FIELD.type);
  const raw = get(ERASURE_FIELD.value);
  let value: string | undefined;
  const typeKnown = typeof type === 'string' && rules.isIdentifier(type);
  if (type === undefined) problems.push('`identifier_field_name` is required');
  else if (!typeKnown) {
    const known = rules.types().map((t) => t.type).join(', ');
    problems.push(`\`identifier_field_name\` ${typeof type === 'string' ? `"${type.slice(0, 64)}" ` : ''}is not an identifier type (${known})`);
  }
  if (raw === undefined) problems.push('`identifier_value` is required');
  else if (typeof raw === 'string' && raw.includes('\u0000')) problems.push('`identifier_value` must not contain the NUL character (U+0000)');
  else if (typeKnown) {
    const normalised = rules.normalise(type as string, raw);
    if (normalised.ok) value = normalised.value;
    else if (normalised.blocked) problems.push('`identifier_value` is not an identifier value (empty or a placeholder such as "anonymous")');
    else problems.push(`\`identifier_value\` ${normalised.reason} (as ${type as string})`);
  }
  if (problems.length) return { problems };
  return { problems, item: { requester: (requester as string).trim(), identifierType: type as string, identifierValue: value! } };
}

export function validateErasureRequestBody(body: unknown, rules: IdentifierRules): ErasureRequestValidation {
  const items = Array.isArray(body) ? body : isPlainObject(body) ? [body] : undefined;
  if (!items) return { ok: false, bodyError: 'body must be an array of 1-100 deletion requests (or one request object)' };
  if (items.length === 0) return { ok: false, bodyError: 'body must hold at least one deletion request' };
  if (items.length > MAX_ERASURE_ITEMS) return { ok: false, bodyError: `body holds ${items.length} deletion requests; at most ${MAX_ERASURE_ITEMS} are allowed` };
  const invalids: Array<{ event: number; message: string }> = [];
  const valid: ValidatedErasureRequest[] = [];
  items.forEach((item, index) => {
    const result = itemProblems(item, rules);
    if (result.item) valid.push(result.item);
    else invalids.push({ event: index, message: result.problems.join('; ') });
  });
  return invalids.length ? { ok: false, invalids } : { ok: true, items: valid };
}
