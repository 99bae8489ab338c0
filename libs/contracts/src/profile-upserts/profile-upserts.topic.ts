/**
 * The profile-upserts event store (DESIGN §4): topic names, record schema and headers.
 * Every accepted item of POST /v3/profiles becomes one record on PROFILE_UPSERTS_TOPIC;
 * records the worker cannot apply go to PROFILE_UPSERTS_DLQ_TOPIC (DESIGN §6).
 */

/** The event store. Retention: forever (`retention.ms=-1`). */
export const PROFILE_UPSERTS_TOPIC = 'tessera.profile-upserts.v1';

/** Dead letters of PROFILE_UPSERTS_TOPIC: original key, value and headers plus the DLQ headers below. */
export const PROFILE_UPSERTS_DLQ_TOPIC = 'tessera.profile-upserts.v1.dlq';

/** Value of the `schema` header of every profile-upsert record. */
export const PROFILE_UPSERT_SCHEMA = 'profile-upsert.v1';

/** `source` of records written by POST /v3/profiles. */
export const PROFILE_UPSERT_SOURCE = 'api.v3.profiles';

/** Header names on profile-upsert records. */
export const PROFILE_UPSERT_HEADER = Object.freeze({
  contentType: 'content-type',
  schema: 'schema',
} as const);

/** Headers every profile-upsert record carries (DESIGN §4). Frozen: copy before handing it to a client that mutates. */
export const PROFILE_UPSERT_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  [PROFILE_UPSERT_HEADER.contentType]: 'application/json',
  [PROFILE_UPSERT_HEADER.schema]: PROFILE_UPSERT_SCHEMA,
});

/**
 * Headers the worker adds when it dead-letters a record (DESIGN §6), next to the record's own headers.
 * `source-partition` and `source-offset` are decimal strings.
 */
export const DLQ_HEADER = Object.freeze({
  error: 'error',
  sourceTopic: 'source-topic',
  sourcePartition: 'source-partition',
  sourceOffset: 'source-offset',
} as const);

export type DlqHeaderName = (typeof DLQ_HEADER)[keyof typeof DLQ_HEADER];
