import { IdentifierRules, ZAIUS_ID } from './identifier-rules';
import { profileIdFor } from './profile-id';
import type { IdentifierRef, ProfileUpsert } from './types';

export interface ExtractedIdentifiers {
  /** Normalised, highest priority first (record order among equal priorities). Blocked values dropped silently. */
  identifiers: IdentifierRef[];
  /** Identifier attributes whose value is not acceptable; ingest rejects the item with these. */
  invalid: Array<{ field: string; reason: string }>;
}

/**
 * The identifiers a record carries. Ingest uses `invalid` to reject items and `identifiers.length === 0`
 * for "needs at least one identifier"; the worker uses it to know what to pre-load.
 */
export function extractIdentifiers(attributes: Record<string, unknown>, rules: IdentifierRules): ExtractedIdentifiers {
  const identifiers: IdentifierRef[] = [];
  const priorities: number[] = [];
  const invalid: Array<{ field: string; reason: string }> = [];
  for (const field of Object.keys(attributes)) {
    const def = rules.get(field);
    if (!def) continue;
    const result = rules.normalise(field, attributes[field]);
    if (!result.ok) {
      if (!result.blocked) invalid.push({ field, reason: result.reason });
      continue;
    }
    // Insertion in priority order, after equal priorities (record order): a stable sort of a handful.
    const ref: IdentifierRef = { type: field, value: result.value };
    let at = identifiers.length;
    identifiers.push(ref);
    priorities.push(def.priority);
    while (at > 0 && priorities[at - 1] > def.priority) {
      identifiers[at] = identifiers[at - 1];
      priorities[at] = priorities[at - 1];
      at--;
    }
    identifiers[at] = ref;
    priorities[at] = def.priority;
  }
  return { identifiers, invalid };
}

const extracted = new WeakMap<ProfileUpsert, { rules: IdentifierRules; result: ExtractedIdentifiers }>();

/**
 * `extractIdentifiers` of an upsert's attributes, computed once per upsert and rules: the worker reads a
 * record's identifiers for `preloadKeys` and again when the graph applies it. Callers only read the result.
 */
export function upsertIdentifiers(upsert: ProfileUpsert, rules: IdentifierRules): ExtractedIdentifiers {
  const known = extracted.get(upsert);
  if (known !== undefined && known.rules === rules) return known.result;
  const result = extractIdentifiers(upsert.attributes, rules);
  extracted.set(upsert, { rules, result });
  return result;
}

export interface PreloadKeys {
  /** Every (type, value) referenced by the batch, zaius_id excluded, de-duplicated. */
  identifiers: IdentifierRef[];
  /**
   * Profile ids named by `zaius_id` (UUIDs only: any other value is invalid and names nobody), plus the id each record would create (`profileIdFor(recordId)`, so a
   * re-applied record finds its own profile instead of overwriting it). Follow `merged_into` chains when loading.
   */
  profileIds: string[];
}

/**
 * What a batch needs from the identity graph. The snapshot handed to `IdentityGraph` must contain:
 * 1. the identifier rows matching `identifiers`, and the profiles those rows point at;
 * 2. the profiles in `profileIds` that exist, and every profile on their `merged_into` chains;
 * 3. every identifier row of every live (not merged) profile loaded by 1 and 2 — merge protection, the
 *    anonymous check and re-pointing need a profile's full set.
 * Profiles pointing at a loaded profile through `merged_into` need not be loaded.
 */
export function preloadKeys(upserts: Iterable<ProfileUpsert>, rules: IdentifierRules): PreloadKeys {
  const identifiers = new Map<string, IdentifierRef>();
  const profileIds = new Set<string>();
  for (const upsert of upserts) {
    profileIds.add(profileIdFor(upsert.recordId));
    for (const ref of upsertIdentifiers(upsert, rules).identifiers) {
      if (ref.type === ZAIUS_ID) profileIds.add(ref.value);
      else identifiers.set(`${ref.type}\u0000${ref.value}`, ref);
    }
  }
  return { identifiers: [...identifiers.values()], profileIds: [...profileIds] };
}
