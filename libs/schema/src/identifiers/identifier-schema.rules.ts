import { ATTRIBUTE_NAME_PATTERN, pluralIdentifierName } from '@tessera/contracts';
import { IdentifierRules, ZAIUS_ID } from '@tessera/identity';
import type { CustomerSchemaState, StoredIdentifierType } from '@tessera/store';
import { isJsonObject, NAME_IN_USE, SchemaInvalid, SchemaRequestError, textProblem, unknownFields } from '../schema-request.error';

/**
 * Identifier schema (DESIGN §10): the ODP request `{"name","display_name","merge_confidence","messaging"}`,
 * the name rules, and the answers. Pure: the service runs `decideIdentifier` under the tenant's lock.
 */

export const IDENTIFIER_NAME_PATTERN = /^[a-z][a-z0-9_]*_(id|hash|number|token|alias|address|key)$/;
const FIELDS = ['name', 'display_name', 'merge_confidence', 'messaging'] as const;

export interface IdentifierDeclaration {
  name: string;
  display_name: string;
  merge_confidence: 'high' | 'low';
  messaging: boolean;
  /** Most values one profile may hold (`null`: unlimited). Not in the ODP API; the CLI's `--limit`. */
  perProfileLimit: number | null;
}

export interface IdentifierListItem {
  name: string;
  display_name: string;
  merge_confidence: 'high' | 'low';
  messaging: boolean;
}

export interface IdentifierCreated {
  events: Array<{ name: string; display_name: string; type: 'identifier' }>;
  customers: Array<{ name: string; display_name: string; type: 'identifier' }>;
}

/**
 * The built-in types as the schema lists them. `zaius_id` is not among them: it is the profile id
 * itself (system confidence), not a type a client declares or messages.
 */
const BUILT_INS: Readonly<Record<string, { display_name: string; messaging: boolean }>> = {
  customer_id: { display_name: 'Customer ID', messaging: false },
  email: { display_name: 'Email', messaging: true },
  phone: { display_name: 'Phone', messaging: true },
  vuid: { display_name: 'VUID', messaging: false },
  username: { display_name: 'Username', messaging: false },
};

/** `loyalty_id` → `Loyalty ID` (a type declared without a display name, e.g. by the CLI). */
export function defaultDisplayName(name: string): string {
  return name
    .split('_')
    .filter(Boolean)
    .map((w) => (w === 'id' ? 'ID' : w[0].toUpperCase() + w.slice(1)))
    .join(' ');
}

/** Checks an ODP identifier request; throws SchemaRequestError naming every bad field. */
export function parseIdentifierRequest(body: unknown, perProfileLimit: number | null = null): IdentifierDeclaration {
  if (!isJsonObject(body)) {
    throw new SchemaRequestError(400, 'body must be a JSON object {"name","display_name","merge_confidence","messaging"}');
  }
  const invalids: SchemaInvalid[] = unknownFields(body, FIELDS, 'an identifier');
  const { name, display_name, merge_confidence, messaging } = body;
  if (name === undefined || name === null) invalids.push({ field: 'name', reason: 'is required' });
  else if (typeof name !== 'string' || !IDENTIFIER_NAME_PATTERN.test(name) || !ATTRIBUTE_NAME_PATTERN.test(name)) {
    invalids.push({ field: 'name', reason: `must match ${IDENTIFIER_NAME_PATTERN.source} and be at most 64 characters` });
  }
  const display = textProblem(display_name, true);
  if (display) invalids.push({ field: 'display_name', reason: display });
  if (merge_confidence === undefined || merge_confidence === null) invalids.push({ field: 'merge_confidence', reason: 'is required ("high" or "low")' });
  else if (merge_confidence !== 'high' && merge_confidence !== 'low') invalids.push({ field: 'merge_confidence', reason: 'must be "high" or "low"' });
  if (messaging !== undefined && messaging !== null && typeof messaging !== 'boolean') invalids.push({ field: 'messaging', reason: 'must be a boolean' });
  if (invalids.length) throw SchemaRequestError.invalid(invalids);
  return {
    name: name as string,
    display_name: (display_name as string).trim(),
    merge_confidence: merge_confidence as 'high' | 'low',
    messaging: messaging === true,
    perProfileLimit,
  };
}

/** Names an identifier type may not take: every type (built-in or custom), their plurals, every declared field. */
function namesInUse(state: CustomerSchemaState, rules: IdentifierRules): Set<string> {
  const taken = new Set<string>();
  for (const t of rules.types()) taken.add(t.type).add(pluralIdentifierName(t.type));
  for (const f of state.fields) taken.add(f.name);
  return taken;
}

/**
 * Decides, on the schema as stored (under the tenant's lock), the tenant's new list of custom types.
 * A name in use — its own name or its plural taken by a type or a declared field — is refused with
 * ODP's `customers.name` answer.
 */
export function decideIdentifier(state: CustomerSchemaState, declaration: IdentifierDeclaration): StoredIdentifierType[] {
  const rules = IdentifierRules.defaults().withCustomTypes(state.identifierTypes);
  const taken = namesInUse(state, rules);
  if (taken.has(declaration.name) || taken.has(pluralIdentifierName(declaration.name))) {
    throw SchemaRequestError.invalid([{ field: 'customers.name', reason: NAME_IN_USE }]);
  }
  const added: StoredIdentifierType = {
    type: declaration.name,
    confidence: declaration.merge_confidence,
    perProfileLimit: declaration.perProfileLimit,
    displayName: declaration.display_name,
    messaging: declaration.messaging,
  };
  const next = [...state.identifierTypes, added];
  IdentifierRules.defaults().withCustomTypes(next); // the rules the worker will build must accept it (throws otherwise)
  return next;
}

/** ODP's 201 answer: the event field and the customer field the new identifier gives. */
export function identifierCreated(declaration: IdentifierDeclaration): IdentifierCreated {
  return {
    events: [{ name: `event_${declaration.name}`, display_name: `Event ${declaration.display_name}`, type: 'identifier' }],
    customers: [{ name: declaration.name, display_name: `Last Seen ${declaration.display_name}`, type: 'identifier' }],
  };
}

/** Built-in types (priority order), then custom ones in the order they were declared. */
export function listIdentifiers(state: CustomerSchemaState): IdentifierListItem[] {
  const rules = IdentifierRules.defaults();
  const builtIns = rules
    .types()
    .filter((t) => t.type !== ZAIUS_ID && BUILT_INS[t.type])
    .map((t) => ({ name: t.type, ...BUILT_INS[t.type], merge_confidence: t.confidence as 'high' | 'low' }))
    .map(({ name, display_name, merge_confidence, messaging }) => ({ name, display_name, merge_confidence, messaging }));
  const custom = state.identifierTypes.map((t) => ({
    name: t.type,
    display_name: t.displayName ?? defaultDisplayName(t.type),
    merge_confidence: t.confidence,
    messaging: t.messaging ?? false,
  }));
  return [...builtIns, ...custom];
}
