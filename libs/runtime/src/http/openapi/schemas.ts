import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ATTRIBUTE_NAME_PATTERN, PROFILE_UPSERT_LIMITS } from '@tessera/contracts';

/**
 * Schemas shared by the DTO classes, built from the validators' own constants (DESIGN §3) so the
 * document says what the code checks. Written in the 3.0 dialect @nestjs/swagger takes (`nullable`);
 * `openApiTo31` raises them.
 */

const { maxStringBytes, maxArrayItems, maxAttributes } = PROFILE_UPSERT_LIMITS;

/** An attribute value: string (≤ 8 KiB UTF-8), finite number, boolean, null (clears) or an array of ≤ 100 strings/numbers. */
export const ATTRIBUTE_VALUE_SCHEMA: SchemaObject = {
  description: `A string (at most ${maxStringBytes} bytes of UTF-8), a finite number, a boolean, null (clears the attribute) or an array of at most ${maxArrayItems} strings/numbers. No nested objects.`,
  anyOf: [
    { type: 'string', maxLength: maxStringBytes },
    { type: 'number' },
    { type: 'boolean' },
    { type: 'null' },
    { type: 'array', maxItems: maxArrayItems, items: { anyOf: [{ type: 'string', maxLength: maxStringBytes }, { type: 'number' }] } },
  ],
};

/** Names of attributes as the validators take them. */
export const ATTRIBUTE_NAME_SCHEMA: SchemaObject = { type: 'string', pattern: ATTRIBUTE_NAME_PATTERN.source };

/** An attributes map: name → value (`propertyNames` is JSON Schema 2020-12, valid in OpenAPI 3.1). */
export function attributesSchema(description: string, maxProperties = maxAttributes + 1): { type: 'object'; description: string; additionalProperties: SchemaObject; maxProperties: number } {
  return {
    type: 'object',
    description,
    additionalProperties: ATTRIBUTE_VALUE_SCHEMA,
    maxProperties,
    ...({ propertyNames: ATTRIBUTE_NAME_SCHEMA } as object),
  };
}

export const ISO_TIMESTAMP_SCHEMA: SchemaObject = { type: 'string', format: 'date-time' };
