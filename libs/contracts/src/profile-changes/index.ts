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
