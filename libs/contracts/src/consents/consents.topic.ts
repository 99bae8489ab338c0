/**
 * The consent.v1 record kind (DESIGN §9, §11): accepted items of POST /v3/consent go on the one
 * topic, PROFILE_UPSERTS_TOPIC, so the projector applies consent in the same order per partition as
 * the person's other records (an erasure included). The kind is the `schema` header.
 */

/** Value of the `schema` header of every consent record. */
export const CONSENT_SCHEMA = 'consent.v1';

/** `source` of records written by POST /v3/consent. */
export const CONSENT_SOURCE = 'api.v3.consent';

/** Headers every consent record carries. Frozen: copy before handing it to a client that mutates. */
export const CONSENT_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
  schema: CONSENT_SCHEMA,
});

export const CONSENT_LIMITS = Object.freeze({
  /** Items per POST /v3/consent body. */
  maxItems: 100,
  /** Characters of `consent_update_reason`. */
  maxReasonLength: 1024,
});

/** The fields of a consent item (ODP's names). `event_data` is accepted and ignored (ODP clients send it). */
export const CONSENT_FIELD = Object.freeze({
  type: 'identifier_field_name',
  value: 'identifier_value',
  consent: 'consent',
  reason: 'consent_update_reason',
  updateTs: 'consent_update_ts',
  eventData: 'event_data',
} as const);
