import type { AttributeValue } from '@tessera/identity';
import type { ContactInput } from './profile-body';

/**
 * A create carries its identifiers in `attributes` (the write port's create is an upsert's item): the
 * body's `contacts` go there when the attribute is free, and the rest (a second email, …) are linked
 * after the create is applied. Pure.
 */
export function foldContacts(
  attributes: Record<string, AttributeValue>,
  contacts: readonly ContactInput[],
  normalise: (type: string, value: unknown) => string | undefined,
): { attributes: Record<string, AttributeValue>; rest: ContactInput[] } {
  const folded: Record<string, AttributeValue> = { ...attributes };
  const rest: ContactInput[] = [];
  for (const contact of contacts) {
    const current = folded[contact.type];
    if (current === undefined || current === null || normalise(contact.type, current) === undefined) folded[contact.type] = contact.value;
    else if (normalise(contact.type, current) !== contact.value) rest.push(contact);
  }
  return { attributes: folded, rest };
}
