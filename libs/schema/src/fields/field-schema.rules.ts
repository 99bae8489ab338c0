import { attributeNameProblem, CUSTOMER_FIELD_TYPES, isCustomerFieldType, pluralIdentifierName, TS_ATTRIBUTE, type CustomerFieldType } from '@tessera/contracts';
import { IdentifierRules } from '@tessera/identity';
import type { CustomerFieldRow, CustomerSchemaState } from '@tessera/store';
import { descriptionProblem, isJsonObject, NAME_IN_USE, SchemaInvalid, SchemaRequestError, textProblem, unknownFields } from '../schema-request.error';

/**
 * Field schema of the customers object (DESIGN §10): `{"name","type","display_name","description"}`.
 * Pure: the service runs `decideField` under the tenant's lock.
 */

const FIELDS = ['name', 'type', 'display_name', 'description'] as const;

/** A declared field as the API shows it (the POST echoes it, the GETs list it). */
export interface CustomerFieldView {
  name: string;
  type: CustomerFieldType;
  display_name: string | null;
  description: string | null;
}

/** Checks a field request; throws SchemaRequestError naming every bad field. */
export function parseFieldRequest(body: unknown): CustomerFieldView {
  if (!isJsonObject(body)) throw new SchemaRequestError(400, 'body must be a JSON object {"name","type","display_name","description"}');
  const invalids: SchemaInvalid[] = unknownFields(body, FIELDS, 'a field');
  const { name, type, display_name, description } = body;
  if (name === undefined || name === null) invalids.push({ field: 'name', reason: 'is required' });
  else if (typeof name !== 'string') invalids.push({ field: 'name', reason: 'must be a string (an attribute name, ^[a-z][a-z0-9_]{0,63}$)' });
  else {
    const problem = attributeNameProblem(name);
    if (problem) invalids.push({ field: 'name', reason: problem.replace(/^attribute name `.*?` /, '') });
  }
  if (type === undefined || type === null) invalids.push({ field: 'type', reason: `is required (${CUSTOMER_FIELD_TYPES.join(', ')})` });
  else if (!isCustomerFieldType(type)) invalids.push({ field: 'type', reason: `must be one of ${CUSTOMER_FIELD_TYPES.join(', ')}` });
  const display = textProblem(display_name, true);
  if (display) invalids.push({ field: 'display_name', reason: display });
  const describe = descriptionProblem(description);
  if (describe) invalids.push({ field: 'description', reason: describe });
  if (invalids.length) throw SchemaRequestError.invalid(invalids);
  return {
    name: name as string,
    type: type as CustomerFieldType,
    display_name: (display_name as string).trim(),
    description: typeof description === 'string' ? description : null,
  };
}

/**
 * Decides, on the schema as stored (under the tenant's lock), the row to add. Taken: a declared field,
 * an identifier type (built-in, `zaius_id` included, or custom) or its plural, and `ts` (the event time).
 */
export function decideField(state: CustomerSchemaState, field: CustomerFieldView): CustomerFieldRow {
  const taken = new Set<string>([TS_ATTRIBUTE, ...state.fields.map((f) => f.name)]);
  for (const t of IdentifierRules.defaults().withCustomTypes(state.identifierTypes).types()) taken.add(t.type).add(pluralIdentifierName(t.type));
  if (taken.has(field.name)) throw SchemaRequestError.invalid([{ field: 'name', reason: NAME_IN_USE }]);
  return { name: field.name, type: field.type, displayName: field.display_name, description: field.description };
}

export function fieldView(row: CustomerFieldRow): CustomerFieldView {
  return { name: row.name, type: row.type, display_name: row.displayName, description: row.description };
}
