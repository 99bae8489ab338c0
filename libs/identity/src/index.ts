/**
 * @tessera/identity — pure identity resolution and attribute merge (DESIGN §3, §5).
 * No I/O: the worker pre-loads a slice of the graph, applies records here, writes `dirty()` back.
 */
export type {
  AttributeValue,
  Attributes,
  Confidence,
  IdentifierRef,
  ProfileUpsert,
  Version,
  ProfileState,
  IdentifierLink,
  ApplyOutcome,
  GraphSnapshot,
  GraphChangeSet,
} from './types';
export {
  IdentifierRules,
  isBlockedIdentifierValue,
  ZAIUS_ID,
  MAX_IDENTIFIER_LENGTH,
  REASON_STRING,
  REASON_STRING_OR_INTEGER,
  REASON_EMAIL,
  REASON_UNKNOWN_TYPE,
  REASON_UUID,
} from './identifier-rules';
export type { IdentifierType, NormaliseResult, CustomIdentifierType } from './identifier-rules';
export { DEFAULT_REGION, REASON_PHONE_EXTENSION, isSupportedRegion, normalisePhone, phoneReason } from './phone-number';
export type { PhoneResult } from './phone-number';
export { extractIdentifiers, preloadKeys, upsertIdentifiers } from './extract-identifiers';
export type { ExtractedIdentifiers, PreloadKeys } from './extract-identifiers';
export { IdentityGraph, IncompleteSnapshotError, isNewerVersion } from './identity-graph';
export type { DirtyRows } from './identity-graph';
export { profileIdFor, uuidV5, isUuid, TESSERA_PROFILE_NAMESPACE } from './profile-id';
export { RULES_VERSION } from './rules-version';
