import { createHash } from 'node:crypto';

/**
 * Profile fields of the native API (DESIGN §12) that are not customer attributes: status, tags, the
 * password hash, the owning customer and whether the profile is its primary one. They live in the
 * projection's `attributes` (and `attribute_versions`) under `$`-names, which no /v3 attribute name can
 * take (^[a-z][a-z0-9_]{0,63}$), so merges and last-writer-wins treat them like any attribute and a
 * replay rebuilds them. Every read strips them from `attributes` (`splitSystemAttributes`).
 */
export const SYSTEM_ATTRIBUTE = {
  status: '$status',
  tags: '$tags',
  passwordHash: '$password',
  customer: '$customer',
  isPrimary: '$is_primary',
} as const;

export type SystemAttributeName = (typeof SYSTEM_ATTRIBUTE)[keyof typeof SYSTEM_ATTRIBUTE];

export const PROFILE_STATUSES = ['active', 'closed', 'suspended'] as const;
export type ProfileStatus = (typeof PROFILE_STATUSES)[number];
/** A profile no native write ever touched (created by /v3 upserts) is active. */
export const DEFAULT_PROFILE_STATUS: ProfileStatus = 'active';

export function isProfileStatus(value: unknown): value is ProfileStatus {
  return typeof value === 'string' && (PROFILE_STATUSES as readonly string[]).includes(value);
}

/** True for the `$`-names above (and any other `$`-name: reserved for the system). */
export function isSystemAttributeName(name: string): boolean {
  return name.charCodeAt(0) === 36; /* '$' */
}

export interface SystemFields {
  status: ProfileStatus;
  tags: string[];
  hasPassword: boolean;
  customer: string | null;
  /** As stored on this profile; whether it is *the* primary of its customer is decided on read (latest wins). */
  isPrimary: boolean;
}

/** Customer attributes and system fields of a stored `attributes` object. */
export function splitSystemAttributes(stored: Record<string, unknown>): { attributes: Record<string, unknown>; system: SystemFields } {
  const attributes: Record<string, unknown> = {};
  for (const name of Object.keys(stored)) if (!isSystemAttributeName(name)) attributes[name] = stored[name];
  const status = stored[SYSTEM_ATTRIBUTE.status];
  const tags = stored[SYSTEM_ATTRIBUTE.tags];
  const customer = stored[SYSTEM_ATTRIBUTE.customer];
  return {
    attributes,
    system: {
      status: isProfileStatus(status) ? status : DEFAULT_PROFILE_STATUS,
      tags: Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [],
      hasPassword: typeof stored[SYSTEM_ATTRIBUTE.passwordHash] === 'string',
      customer: typeof customer === 'string' ? customer : null,
      isPrimary: stored[SYSTEM_ATTRIBUTE.isPrimary] === true,
    },
  };
}

/** Customer attributes only (the /v3 look-up's view). */
export function withoutSystemAttributes<T extends Record<string, unknown>>(stored: T): T {
  let copy: Record<string, unknown> | undefined;
  for (const name of Object.keys(stored)) {
    if (!isSystemAttributeName(name)) continue;
    copy ??= { ...stored };
    delete copy[name];
  }
  return (copy ?? stored) as T;
}

/**
 * A contact's stable id (DESIGN §12): it names the tenant, identifier type and normalised value, so the
 * same identifier has the same id on whichever profile holds it and a changed value has a new id. A
 * digest, not the value itself: ids appear in URLs and logs.
 */
export function contactIdOf(tenant: string, type: string, value: string): string {
  return createHash('sha256').update(`${tenant}\u0000${type}\u0000${value}`, 'utf8').digest('base64url').slice(0, 22);
}
