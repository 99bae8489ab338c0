import { pluralIdentifierName } from '@tessera/contracts';
import { ZAIUS_ID } from '@tessera/identity';

/**
 * A look-up's attributes (DESIGN §3, §10): the profile's attributes, then for every identifier type of
 * the tenant its plural name (`emails`, `fs_user_ids`, …) holding up to 25 values, most recently seen
 * first, and the singular name holding the last-seen value. A type without a value has no plural
 * attribute (nor a stale one written before the type existed: plural names are reserved). `zaius_id`
 * is the profile id itself.
 */
export function lookUpAttributes(
  attributes: Readonly<Record<string, unknown>>,
  /** Per type, most recently seen first (ProfileQueryRepository's `recentIdentifiers`). */
  recent: Readonly<Record<string, readonly string[]>>,
  types: readonly string[],
  profileId: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...attributes };
  for (const type of types) {
    if (type === ZAIUS_ID) continue;
    const plural = pluralIdentifierName(type);
    const values = recent[type];
    if (values && values.length > 0) {
      out[type] = values[0];
      out[plural] = [...values];
    } else delete out[plural];
  }
  out[ZAIUS_ID] = profileId;
  return out;
}
