/**
 * @tessera/contracts — wire contracts shared by ingest, worker and query: the POST /v3/profiles body
 * validator, the profile-upsert log record (DESIGN §3, §4) and UUID v7. Pure TypeScript: no Nest,
 * TypeORM or Kafka imports.
 */
export { uuidv7, createUuidV7Generator, isUuidV7, uuidV7Timestamp, UUID_V7_PATTERN } from './ids/uuid-v7';
export type { UuidV7GeneratorOptions, RandomFill } from './ids/uuid-v7';

export {
  PROFILE_UPSERTS_TOPIC,
  PROFILE_UPSERTS_DLQ_TOPIC,
  PROFILE_UPSERT_SCHEMA,
  PROFILE_UPSERT_SOURCE,
  PROFILE_UPSERT_HEADER,
  PROFILE_UPSERT_HEADERS,
  DLQ_HEADER,
} from './profile-upserts/profile-upserts.topic';
export type { DlqHeaderName } from './profile-upserts/profile-upserts.topic';

export {
  PROFILE_UPSERT_LIMITS,
  ATTRIBUTE_NAME_PATTERN,
  RESERVED_ATTRIBUTE_NAMES,
  TS_ATTRIBUTE,
  ATTRIBUTE_VALUE_RULE,
  attributeNameProblem,
  attributeValueProblem,
  isWellFormedText,
  pluralIdentifierName,
  CUSTOMER_FIELD_TYPES,
  isCustomerFieldType,
} from './profile-upserts/attribute-rules';
export type { CustomerFieldType, DeclaredFieldTypes } from './profile-upserts/attribute-rules';

export {
  parseEventTime,
  parseIso8601,
  ISO_8601_EVENT_TIME,
  EPOCH_SECONDS_BELOW,
  MIN_EVENT_TIME_MS,
  MAX_EVENT_TIME_MS,
  TS_RULE,
  TS_RANGE_RULE,
} from './profile-upserts/event-time';
export type { EventTimeResult } from './profile-upserts/event-time';

export {
  validateProfileUpsertBody,
  validateProfileUpsertItem,
  MISSING_ATTRIBUTES,
  IDENTIFIER_REQUIRED,
  MAX_PROBLEMS_PER_ITEM,
  pluralsOf,
  hasFieldType,
} from './profile-upserts/profile-upsert.validator';
export type {
  ProfileUpsertIdentifier,
  ValidatedProfileUpsert,
  ProfileUpsertInvalid,
  ProfileUpsertValidation,
  ProfileUpsertItemValidation,
  ValidateProfileUpsertOptions,
} from './profile-upserts/profile-upsert.validator';

export { buildProfileUpsertRecords, parseProfileUpsertRecord, profileUpsertKey } from './profile-upserts/profile-upsert.record';
export type { ProfileUpsertRecord, ProfileUpsertLogRecord, ProfileUpsertRecordParse } from './profile-upserts/profile-upsert.record';

export { decodeRecord, envelopeOf, identifierRefsOf, PROJECTED_SCHEMAS, REDACTED_FIELD } from './records';
export type { DecodedRecord, RecordDecoding, RecordEnvelope, RedactedRecord } from './records';

export { EVENT_SCHEMA, EVENT_SOURCE, EVENT_HEADERS, EVENT_LIMITS, EVENT_NAME_PATTERN, IDEMPOTENCE_ID } from './events/events.topic';
export {
  validateEventBody,
  validateEventItem,
  EVENT_FIELDS,
  MISSING_TYPE,
  MISSING_IDENTIFIERS,
  EVENT_IDENTIFIER_REQUIRED,
  EVENT_DATA_VALUE_RULE,
} from './events/event.validator';
export type { EventDataValue, ValidatedEvent, EventInvalid, EventValidation, EventItemValidation, ValidateEventOptions } from './events/event.validator';
export { buildEventRecords, parseEventRecord, eventIdempotenceId } from './events/event.record';
export type { EventRecord, EventLogRecord, EventRecordParse } from './events/event.record';
export * from './erasures';
export * from './consents';
export * from './profile-changes';
