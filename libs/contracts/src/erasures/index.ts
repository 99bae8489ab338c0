export { ERASURE_SCHEMA, ERASURE_SOURCE, ERASURE_HEADERS, REGULATIONS, isRegulation, MAX_ERASURE_ITEMS, MAX_REQUESTER_LENGTH } from './erasures.topic';
export type { Regulation } from './erasures.topic';
export { buildErasureRecords, parseErasureRecord, erasurePartitionKey } from './erasure.record';
export type { ErasureRecord, ErasureItem, ErasureLogRecord, ErasureRecordParse } from './erasure.record';
export { validateErasureRequestBody, ERASURE_FIELD } from './erasure-request.validator';
export type { ValidatedErasureRequest, ErasureRequestValidation } from './erasure-request.validator';
