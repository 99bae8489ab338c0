/**
 * Erasure records (DESIGN §9, §11): one `erasure.v1` record per requested identifier, on the one
 * profile topic (PROFILE_UPSERTS_TOPIC) so the projector applies it in log order with the person's
 * other records. The record names the identifier only by its keyed hash, never by its value.
 */

/** Value of the `schema` header of every erasure record. */
export const ERASURE_SCHEMA = 'erasure.v1';

/** `source` of records written by POST /v3/compliance/{regulation}/delete. */
export const ERASURE_SOURCE = 'api.v3.compliance';

/** Headers every erasure record carries. Frozen: copy before handing it to a client that mutates. */
export const ERASURE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
  schema: ERASURE_SCHEMA,
});

/** The regulations a deletion request may name; the operation is the same for each (DESIGN §11). */
export const REGULATIONS = ['gdpr', 'ccpa', 'lgpd'] as const;
export type Regulation = (typeof REGULATIONS)[number];

export function isRegulation(value: unknown): value is Regulation {
  return (REGULATIONS as readonly unknown[]).includes(value);
}

/** Items per deletion request body. */
export const MAX_ERASURE_ITEMS = 100;
/** Longest `requester` kept for the audit trail. */
export const MAX_REQUESTER_LENGTH = 255;
