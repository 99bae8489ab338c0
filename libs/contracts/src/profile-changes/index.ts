export {
  SYSTEM_ATTRIBUTE,
  PROFILE_STATUSES,
  DEFAULT_PROFILE_STATUS,
  isProfileStatus,
  isSystemAttributeName,
  splitSystemAttributes,
  withoutSystemAttributes,
  contactIdOf,
} from './system-attributes';
export type { SystemAttributeName, ProfileStatus, SystemFields } from './system-attributes';
export { PROFILE_CHANGE_SCHEMA, PROFILE_CHANGE_SOURCE, PROFILE_CHANGE_HEADERS, PROFILE_CHANGE_OPS, MAX_TAGS, MAX_TAG_LENGTH, MAX_CUSTOMER_LENGTH } from './profile-changes.topic';
export type { ProfileChangeOp } from './profile-changes.topic';
export { hashPassword, verifyPassword, isPasswordHash, PASSWORD_HASH_PATTERN } from './password-hash';
export { buildProfileChangeRecords, parseProfileChangeRecord, profileChangeKey, profileChangeIdentifierRefs } from './profile-change.record';
export type { ProfileChangeRecord, ProfileChangeInput, ProfileChangeFields, ProfileChangeLogRecord, ProfileChangeRecordParse, ContactInput } from './profile-change.record';
