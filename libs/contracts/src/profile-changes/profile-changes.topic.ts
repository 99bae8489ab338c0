/**
 * The profile-change.v1 record kind (DESIGN §9, §12): every write of the native profile API (create,
 * replace, patch, contact link / unlink / replace) is one record on the one profile topic
 * (PROFILE_UPSERTS_TOPIC), applied by the projector in log order with upserts, events and erasures.
 */

/** Value of the `schema` header of every profile-change record. */
export const PROFILE_CHANGE_SCHEMA = 'profile-change.v1';

/** `source` of records written by the native API (/api/v1/profiles, /api/v1/customers). */
export const PROFILE_CHANGE_SOURCE = 'api.v1.profiles';

/** Headers every profile-change record carries. Frozen: copy before handing it to a client that mutates. */
export const PROFILE_CHANGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
  schema: PROFILE_CHANGE_SCHEMA,
});

export const PROFILE_CHANGE_OPS = ['create', 'replace', 'patch', 'link-contact', 'unlink-contact', 'replace-contact'] as const;
export type ProfileChangeOp = (typeof PROFILE_CHANGE_OPS)[number];

/** Most tags a profile carries; longest tag. */
export const MAX_TAGS = 100;
export const MAX_TAG_LENGTH = 255;
/** Longest customer account name. */
export const MAX_CUSTOMER_LENGTH = 255;
