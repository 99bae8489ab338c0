export { CONSENT_SCHEMA, CONSENT_SOURCE, CONSENT_HEADERS, CONSENT_LIMITS, CONSENT_FIELD } from './consents.topic';
export { validateConsentBody, validateConsentItem } from './consent.validator';
export type { ValidatedConsent, ConsentInvalid, ConsentValidation } from './consent.validator';
export { buildConsentRecords, parseConsentRecord, consentPartitionKey } from './consent.record';
export type { ConsentRecord, ConsentLogRecord, ConsentRecordParse, IdentifierHashFunction } from './consent.record';
