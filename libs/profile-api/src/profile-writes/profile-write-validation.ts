import {
  attributeNameProblem,
  attributeValueProblem,
  isProfileStatus,
  MAX_CUSTOMER_LENGTH,
  MAX_TAG_LENGTH,
  MAX_TAGS,
  pluralIdentifierName,
  TS_ATTRIBUTE,
} from '@tessera/contracts';
import { isUuid, ZAIUS_ID, type IdentifierRules } from '@tessera/identity';
import type { ProfileChangeCommand, ProfileFieldsInput } from './profile-writes.port';

export type FieldError = { field: string; message: string };

export const PASSWORD_LENGTH = { min: 8, max: 128 } as const;

/**
 * Checks a native write before anything is produced (DESIGN §12): attribute names and values as a /v3
 * upsert's, identifier values normalise under the tenant's rules, plural identifier names reserved, no
 * `ts` (a native write happens when it is received), system fields in range. Pure; every problem is
 * named by its request field (`attributes.email`, `tags[2]`, `value`).
 */
export function validateProfileChange(command: ProfileChangeCommand, rules: IdentifierRules): FieldError[] {
  const errors: FieldError[] = [];
  if ('attributes' in command) errors.push(...attributeErrors(command.attributes, rules, command.op === 'create' ? undefined : command.profileId));
  if (command.op === 'create' || command.op === 'patch' || command.op === 'replace') errors.push(...fieldErrors(command));
  if (command.op === 'create' && errors.length === 0 && !hasIdentifier(command.attributes, rules)) {
    errors.push({ field: 'attributes', message: `needs at least one identifier (${identifierTypes(rules)})` });
  }
  if (command.op === 'link-contact' || command.op === 'replace-contact') errors.push(...contactErrors(command.contact, rules));
  return errors;
}

function identifierTypes(rules: IdentifierRules): string {
  return rules.types().filter((t) => t.type !== ZAIUS_ID).map((t) => t.type).join(', ');
}

function hasIdentifier(attributes: Record<string, unknown>, rules: IdentifierRules): boolean {
  return Object.keys(attributes).some((name) => name !== ZAIUS_ID && rules.isIdentifier(name) && rules.normalise(name, attributes[name]).ok);
}

function attributeErrors(attributes: Record<string, unknown>, rules: IdentifierRules, profileId: string | undefined): FieldError[] {
  if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) return [{ field: 'attributes', message: 'must be an object' }];
  const plurals = new Set(rules.types().map((t) => pluralIdentifierName(t.type)));
  const errors: FieldError[] = [];
  for (const name of Object.keys(attributes)) {
    const field = `attributes.${name}`;
    const value = attributes[name];
    const nameProblem = name === TS_ATTRIBUTE ? 'is not accepted by the native API (a write happens when it is received)' : attributeNameProblem(name);
    if (nameProblem !== null) {
      errors.push({ field, message: nameProblem });
      continue;
    }
    if (plurals.has(name) && !rules.isIdentifier(name)) {
      errors.push({ field, message: 'is reserved: the plural of an identifier type is filled in by Tessera' });
      continue;
    }
    const valueProblem = attributeValueProblem(value);
    if (valueProblem !== null) {
      errors.push({ field, message: valueProblem });
      continue;
    }
    if (!rules.isIdentifier(name)) continue;
    if (name === ZAIUS_ID) {
      if (profileId === undefined || String(value).trim().toLowerCase() !== profileId.toLowerCase()) {
        errors.push({ field, message: 'is the profile id, assigned by Tessera: it cannot be set or changed' });
      }
      continue;
    }
    const normalised = rules.normalise(name, value);
    if (!normalised.ok && !normalised.blocked) errors.push({ field, message: normalised.reason });
  }
  return errors;
}

function fieldErrors(fields: ProfileFieldsInput): FieldError[] {
  const errors: FieldError[] = [];
  if (fields.status !== undefined && !isProfileStatus(fields.status)) errors.push({ field: 'status', message: 'must be one of active, closed, suspended' });
  if (fields.tags !== undefined) {
    if (!Array.isArray(fields.tags)) errors.push({ field: 'tags', message: 'must be an array of strings' });
    else {
      if (fields.tags.length > MAX_TAGS) errors.push({ field: 'tags', message: `must hold at most ${MAX_TAGS} tags` });
      fields.tags.forEach((tag, i) => {
        if (typeof tag !== 'string' || tag.length === 0 || tag.length > MAX_TAG_LENGTH) errors.push({ field: `tags[${i}]`, message: `must be a string of 1-${MAX_TAG_LENGTH} characters` });
      });
    }
  }
  if (fields.password !== undefined) {
    const p = fields.password;
    if (typeof p !== 'string' || [...p].length < PASSWORD_LENGTH.min || [...p].length > PASSWORD_LENGTH.max) {
      errors.push({ field: 'password', message: `must be a string of ${PASSWORD_LENGTH.min}-${PASSWORD_LENGTH.max} characters` });
    }
  }
  if (fields.customer !== undefined && (typeof fields.customer !== 'string' || fields.customer.length === 0 || fields.customer.length > MAX_CUSTOMER_LENGTH)) {
    errors.push({ field: 'customer', message: `must be a string of 1-${MAX_CUSTOMER_LENGTH} characters` });
  }
  if (fields.isPrimary !== undefined && typeof fields.isPrimary !== 'boolean') errors.push({ field: 'is_primary', message: 'must be a boolean' });
  return errors;
}

function contactErrors(contact: { type: string; value: string }, rules: IdentifierRules): FieldError[] {
  if (typeof contact?.type !== 'string' || contact.type === ZAIUS_ID || !rules.isIdentifier(contact.type)) {
    return [{ field: 'key', message: `must be an identifier type of the tenant (${identifierTypes(rules)})` }];
  }
  if (typeof contact.value !== 'string') return [{ field: 'value', message: 'must be a string' }];
  const normalised = rules.normalise(contact.type, contact.value);
  if (normalised.ok) return [];
  return [{ field: 'value', message: normalised.blocked ? 'is a placeholder, not an identifier' : normalised.reason }];
}

/** Ids that can name nothing are answered not-found without producing anything. */
export function namesNothing(command: ProfileChangeCommand): boolean {
  if (command.op === 'create') return false;
  if (!isUuid(command.profileId)) return true;
  return 'contactId' in command && !/^[A-Za-z0-9_-]{1,64}$/.test(command.contactId);
}
