/** @tessera/schema — a tenant's customer schema: identifier types and declared fields (DESIGN §10). */
export * from './schema.module';
export * from './schema.service';
export * from './schema-request.error';
export { IDENTIFIER_NAME_PATTERN, defaultDisplayName, parseIdentifierRequest } from './identifiers/identifier-schema.rules';
export type { IdentifierCreated, IdentifierListItem } from './identifiers/identifier-schema.rules';
export { parseFieldRequest } from './fields/field-schema.rules';
export type { CustomerFieldView } from './fields/field-schema.rules';
