import { DEFAULT_REGION, isSupportedRegion, normalisePhone } from './phone-number';
import { isUuid } from './profile-id';
import type { Confidence } from './types';

/**
 * Identifier types and their normalisation (DESIGN §3, §5).
 *
 * | type        | confidence | normalisation                                   | limit | priority |
 * |-------------|------------|-------------------------------------------------|-------|----------|
 * | zaius_id    | system     | a UUID (the profile id): trim, lower-case       | 1     | 0        |
 * | customer_id | high       | trim; safe integers → decimal string            | 1     | 1        |
 * | email       | high       | trim, lower-case; must look like an address     | none  | 2        |
 * | phone       | high       | E.164 under the default region; isPossible      | none  | 3        |
 * | username    | high       | trim                                            | 1     | 4        |
 * | vuid        | low        | trim                                            | none  | 5        |
 * | custom      | high / low | trim                                            | given | 6, 7, …  |
 */

export interface IdentifierType {
  type: string;
  confidence: Confidence;
  /** Most values of this type one profile may hold; `null` = unlimited. */
  perProfileLimit: number | null;
  /** 0 = highest. Unique per type. */
  priority: number;
}

export type NormaliseResult =
  | { ok: true; value: string }
  | { ok: false; blocked: true }
  | { ok: false; blocked: false; reason: string };

export interface CustomIdentifierType {
  type: string;
  confidence: 'high' | 'low';
  perProfileLimit?: number | null;
}

export const ZAIUS_ID = 'zaius_id';
export const MAX_IDENTIFIER_LENGTH = 255;

/** Compared after trim and lower-case. */
const BLOCKED_VALUES: ReadonlySet<string> = new Set([
  '',
  'null',
  'undefined',
  'anonymous',
  'guest',
  '0',
  '-1',
  'none',
  'nan',
  '[object object]',
]);

export function isBlockedIdentifierValue(value: string): boolean {
  return BLOCKED_VALUES.has(value.trim().toLowerCase());
}

export const REASON_STRING = `must be a string of 1-${MAX_IDENTIFIER_LENGTH} characters`;
export const REASON_STRING_OR_INTEGER = `must be a string of 1-${MAX_IDENTIFIER_LENGTH} characters or an integer`;
export const REASON_EMAIL = 'must look like an email address';
export const REASON_UNKNOWN_TYPE = 'is not an identifier type';
export const REASON_UUID = 'must be a UUID';

/** local@domain.tld: no whitespace, one '@', a domain of non-empty dot-separated labels with at least one dot. */
const EMAIL_PATTERN = /^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+$/;
const ATTRIBUTE_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const RESERVED_NAMES: ReadonlySet<string> = new Set(['ts', 'constructor', 'prototype']);

type Normaliser = (trimmed: string) => NormaliseResult;

const trimOnly: Normaliser = (trimmed) => ({ ok: true, value: trimmed });

const NORMALISERS: ReadonlyMap<string, Normaliser> = new Map(Object.entries({
  // The id of an existing profile, so a UUID (DESIGN §5): anything else could only ever name nobody.
  // UUIDs are case-insensitive on input and lower-case in canonical form (RFC 9562 §4).
  [ZAIUS_ID]: (trimmed) => (isUuid(trimmed) ? { ok: true, value: trimmed.toLowerCase() } : { ok: false, blocked: false, reason: REASON_UUID }),
  customer_id: trimOnly,
  email: (trimmed) => {
    const value = trimmed.toLowerCase();
    return EMAIL_PATTERN.test(value) ? { ok: true, value } : { ok: false, blocked: false, reason: REASON_EMAIL };
  },
  vuid: trimOnly,
} satisfies Record<string, Normaliser>));

const DEFAULT_TYPES: readonly IdentifierType[] = [
  { type: ZAIUS_ID, confidence: 'system', perProfileLimit: 1, priority: 0 },
  { type: 'customer_id', confidence: 'high', perProfileLimit: 1, priority: 1 },
  { type: 'email', confidence: 'high', perProfileLimit: null, priority: 2 },
  { type: 'phone', confidence: 'high', perProfileLimit: null, priority: 3 },
  // Seed 000 (DESIGN §12): a username is unique per tenant and one per profile; ranked after the
  // contact identifiers and before the low-confidence ones.
  { type: 'username', confidence: 'high', perProfileLimit: 1, priority: 4 },
  { type: 'vuid', confidence: 'low', perProfileLimit: null, priority: 5 },
];

/** Identifier rules of one tenant. Immutable: `withCustomTypes` returns a new instance. */
export class IdentifierRules {
  private readonly byType: ReadonlyMap<string, IdentifierType>;

  private constructor(
    private readonly ordered: readonly IdentifierType[],
    /** ISO 3166-1 alpha-2 region of phone numbers written without a country code (DESIGN §5). */
    readonly defaultRegion: string = DEFAULT_REGION,
  ) {
    this.byType = new Map(ordered.map((t) => [t.type, t]));
  }

  static defaults(): IdentifierRules {
    return new IdentifierRules(DEFAULT_TYPES.map((t) => ({ ...t })));
  }

  /** A tenant's rules from its settings: the defaults, its custom types ranked after them, its phone region. */
  static forTenant(custom: CustomIdentifierType[], region?: string): IdentifierRules {
    const rules = custom.length ? IdentifierRules.defaults().withCustomTypes(custom) : IdentifierRules.defaults();
    return region ? rules.withDefaultRegion(region) : rules;
  }

  /** The same rules reading phones in `region` (upper-case ISO 3166-1 alpha-2). Throws on an unknown region. */
  withDefaultRegion(region: string): IdentifierRules {
    if (!isSupportedRegion(region)) {
      throw new Error(`default region "${region}" must be an upper-case ISO 3166-1 alpha-2 code with phone numbers (e.g. US, GB, DE)`);
    }
    return new IdentifierRules(this.ordered, region);
  }

  /**
   * Adds tenant-defined identifier types, ranked after the existing ones in the given order.
   * Their normalisation is trim. Throws on a bad name, a duplicate or a bad limit (configuration error).
   */
  withCustomTypes(custom: CustomIdentifierType[]): IdentifierRules {
    const next = this.ordered.map((t) => ({ ...t }));
    const seen = new Set(next.map((t) => t.type));
    let priority = next.reduce((max, t) => Math.max(max, t.priority), -1);
    for (const c of custom) {
      if (!ATTRIBUTE_NAME.test(c.type) || RESERVED_NAMES.has(c.type)) {
        throw new Error(`custom identifier type "${c.type}" must be an attribute name (^[a-z][a-z0-9_]{0,63}$), not ts/constructor/prototype`);
      }
      if (seen.has(c.type)) throw new Error(`identifier type "${c.type}" is defined twice`);
      if (c.confidence !== 'high' && c.confidence !== 'low') {
        throw new Error(`custom identifier type "${c.type}": confidence must be 'high' or 'low'`);
      }
      const limit = c.perProfileLimit ?? null;
      if (limit !== null && !(Number.isSafeInteger(limit) && limit >= 1)) {
        throw new Error(`custom identifier type "${c.type}": perProfileLimit must be a positive integer or null`);
      }
      seen.add(c.type);
      next.push({ type: c.type, confidence: c.confidence, perProfileLimit: limit, priority: ++priority });
    }
    return new IdentifierRules(next, this.defaultRegion);
  }

  get(type: string): IdentifierType | undefined {
    return this.byType.get(type);
  }

  /** True for every identifier attribute name, `zaius_id` included. */
  isIdentifier(attributeName: string): boolean {
    return this.byType.has(attributeName);
  }

  /** All types, highest priority first. */
  types(): IdentifierType[] {
    return this.ordered.map((t) => ({ ...t }));
  }

  /**
   * Normalises one raw identifier value.
   * - JS null/undefined and blocked values (after trim, case-insensitive) → `{ok: false, blocked: true}`.
   * - Anything else that is not a string (customer_id: or a safe integer), is longer than 255
   *   characters, or fails the type's own check → `{ok: false, blocked: false, reason}`.
   */
  normalise(type: string, raw: unknown): NormaliseResult {
    const def = this.byType.get(type);
    if (!def) return { ok: false, blocked: false, reason: REASON_UNKNOWN_TYPE };
    if (raw === null || raw === undefined) return { ok: false, blocked: true };

    let text: string;
    if (typeof raw === 'string') {
      text = raw;
    } else if (type === 'customer_id' && typeof raw === 'number' && Number.isSafeInteger(raw)) {
      text = String(raw); // -0 → "0" (blocked)
    } else {
      return { ok: false, blocked: false, reason: type === 'customer_id' ? REASON_STRING_OR_INTEGER : REASON_STRING };
    }

    const trimmed = text.trim();
    if (BLOCKED_VALUES.has(trimmed.toLowerCase())) return { ok: false, blocked: true };
    if (text.length > MAX_IDENTIFIER_LENGTH) {
      return { ok: false, blocked: false, reason: type === 'customer_id' ? REASON_STRING_OR_INTEGER : REASON_STRING };
    }

    if (type === 'phone') {
      const phone = normalisePhone(trimmed, this.defaultRegion);
      return phone.ok ? phone : { ok: false, blocked: false, reason: phone.reason };
    }
    const result = (NORMALISERS.get(type) ?? trimOnly)(trimmed);
    // A value that only becomes a blocked word once normalised is still blocked.
    if (result.ok && BLOCKED_VALUES.has(result.value.toLowerCase())) return { ok: false, blocked: true };
    return result;
  }
}
