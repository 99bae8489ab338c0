/**
 * The event.v1 record kind (DESIGN §9, §10): accepted items of POST /v3/events go on the one topic,
 * PROFILE_UPSERTS_TOPIC, next to profile upserts, so the projector applies both in one order per
 * partition. The kind is the `schema` header.
 */

/** Value of the `schema` header of every event record. */
export const EVENT_SCHEMA = 'event.v1';

/** `source` of records written by POST /v3/events. */
export const EVENT_SOURCE = 'api.v3.events';

/** Headers every event record carries. Frozen: copy before handing it to a client that mutates. */
export const EVENT_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
  schema: EVENT_SCHEMA,
});

export const EVENT_LIMITS = Object.freeze({
  /** Items per POST /v3/events body. */
  maxItems: 500,
  /** Keys of `data`, `ts` not counted (it is not kept in `data`). */
  maxDataKeys: 256,
  /** Characters of `data.idempotence_id`. */
  maxIdempotenceIdLength: 255,
});

/** `type` and `action` of an event. */
export const EVENT_NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

/** The `data` field that dedupes an event per tenant within the idempotency window (DESIGN §10). */
export const IDEMPOTENCE_ID = 'idempotence_id';

/** The `data` field that carries the event time; it is taken out of `data` into the record's `ts`. */
export const EVENT_TS = 'ts';
