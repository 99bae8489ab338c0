import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiHeader, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { EVENT_LIMITS, EVENT_NAME_PATTERN, PROFILE_UPSERT_LIMITS } from '@tessera/contracts';
import { ApiZaiusErrorResponses, ApiZaiusForbiddenResponse, attributesSchema, ZaiusAcceptedDto, ZaiusErrorDto, ZaiusInvalidsDto } from '@tessera/runtime';

/** OpenAPI description of the ingest bodies (DESIGN §3, §10): shapes and limits from the validators' constants. */

const TIMESTAMP = '2026-12-03T01:02:03.456Z';

/** One item of `POST /v3/profiles`: `{"attributes": {…}}`, identifiers inside the attributes. */
export class ProfileUpsertItemDto {
  @ApiProperty({
    ...attributesSchema(
      'Attributes to set (`null` clears one). At least one identifier (`email`, `phone`, `customer_id`, `vuid`, `zaius_id` or a custom type) is required; ' +
        'identifier values are strings of 1–255 characters (`customer_id` may be an integer). `ts` is the event time (epoch seconds, epoch ms or ISO 8601), not stored.',
    ),
    example: { email: 'jane@example.com', first_name: 'Jane', city: 'Boston', ts: 1764723723 },
  })
  attributes!: Record<string, unknown>;
}

/** One item of `POST /v3/events`. */
export class EventItemDto {
  @ApiProperty({ pattern: EVENT_NAME_PATTERN.source, example: 'order' })
  type!: string;

  @ApiPropertyOptional({ pattern: EVENT_NAME_PATTERN.source, example: 'purchase' })
  action?: string;

  @ApiProperty({
    type: 'object',
    description: 'At least one identifier of a type the tenant knows (custom types included); values as in an upsert',
    minProperties: 1,
    additionalProperties: { anyOf: [{ type: 'string', minLength: 1, maxLength: 255 }, { type: 'integer' }] },
    example: { email: 'jane@example.com', vuid: 'a1b2c3d4e5f6' },
  })
  identifiers!: Record<string, string | number>;

  @ApiPropertyOptional({
    type: 'object',
    description: `A flat map (at most ${EVENT_LIMITS.maxDataKeys} keys, named like attributes) of strings, finite numbers, booleans or null. \`ts\` is the event time; \`idempotence_id\` (≤ ${EVENT_LIMITS.maxIdempotenceIdLength} characters) dedupes.`,
    maxProperties: EVENT_LIMITS.maxDataKeys + 1,
    additionalProperties: { anyOf: [{ type: 'string', maxLength: PROFILE_UPSERT_LIMITS.maxStringBytes }, { type: 'number' }, { type: 'boolean' }, { type: 'null' }] },
    example: { order_id: 'A-1001', total: 42.5, ts: '2026-12-03T01:00:00Z', idempotence_id: 'order-A-1001' },
  })
  data?: Record<string, string | number | boolean | null>;
}

const IDEMPOTENCY_KEY = ApiHeader({
  name: 'Idempotency-Key',
  required: false,
  description: 'Repeated within the idempotency window (default 24 h) with the same body, the first answer is answered again and nothing is published; with a different body → 422; while the first is in flight → 409.',
  schema: { type: 'string', minLength: 1, maxLength: 255, example: 'order-4711' },
});

function batchBody(item: Function, maxItems: number, single: object, batch: object[]) {
  return ApiBody({
    description: `One object or an array of 1–${maxItems} objects. All-or-nothing: one invalid item and nothing is published.`,
    schema: { oneOf: [{ $ref: getSchemaPath(item) }, { type: 'array', minItems: 1, maxItems, items: { $ref: getSchemaPath(item) } }] },
    examples: { single: { summary: 'One object', value: single }, batch: { summary: 'An array', value: batch } },
  });
}

const ACCEPTED = ApiResponse({
  status: 202,
  description: 'Every item is durably on the log (the log acknowledged them). Projections follow shortly.',
  content: { 'application/json': { schema: { $ref: getSchemaPath(ZaiusAcceptedDto) }, example: { title: 'Accepted', status: 202, timestamp: TIMESTAMP } } },
});

function badRequest(invalid: string) {
  return ApiResponse({
    status: 400,
    description: 'Invalid items (`detail.invalids`, each with the item index and a message naming the field; nothing was published), malformed JSON or a bad body shape (`detail.message`)',
    content: {
      'application/json': {
        schema: { oneOf: [{ $ref: getSchemaPath(ZaiusInvalidsDto) }, { $ref: getSchemaPath(ZaiusErrorDto) }] },
        examples: {
          invalids: { summary: 'Invalid items', value: { title: 'Bad Request', status: 400, timestamp: TIMESTAMP, detail: { invalids: [{ event: 1, message: invalid }] } } },
          malformed: { summary: 'Malformed JSON', value: { title: 'Bad Request', status: 400, timestamp: TIMESTAMP, detail: { message: 'Malformed JSON: Unexpected end of JSON input' } } },
        },
      },
    },
  });
}

const COMMON_ERRORS = [ApiZaiusForbiddenResponse(), ApiZaiusErrorResponses(409, 413, 415, 422, 429, 503)];

/** The OpenAPI description of `POST /v3/profiles`. */
export function ApiProfileUpsert(): MethodDecorator {
  const single = { attributes: { email: 'jane@example.com', first_name: 'Jane', city: 'Boston' } };
  const batch = [single, { attributes: { customer_id: 4711, vuid: 'a1b2c3d4e5f6', loyalty_tier: 'gold', ts: '2026-12-03T01:00:00Z' } }];
  return applyDecorators(
    ApiExtraModels(ProfileUpsertItemDto, ZaiusAcceptedDto, ZaiusInvalidsDto, ZaiusErrorDto),
    IDEMPOTENCY_KEY,
    batchBody(ProfileUpsertItemDto, PROFILE_UPSERT_LIMITS.maxItems, single, batch),
    ACCEPTED,
    badRequest('at least one identifier is required (email, phone, customer_id, vuid, zaius_id …)'),
    ...COMMON_ERRORS,
  );
}

/** The OpenAPI description of `POST /v3/events`. */
export function ApiEventsTrack(): MethodDecorator {
  const single = { type: 'order', action: 'purchase', identifiers: { email: 'jane@example.com' }, data: { order_id: 'A-1001', total: 42.5 } };
  const batch = [single, { type: 'pageview', identifiers: { vuid: 'a1b2c3d4e5f6' }, data: { page: '/pricing', ts: 1764723723 } }];
  return applyDecorators(
    ApiExtraModels(EventItemDto, ZaiusAcceptedDto, ZaiusInvalidsDto, ZaiusErrorDto),
    IDEMPOTENCY_KEY,
    batchBody(EventItemDto, EVENT_LIMITS.maxItems, single, batch),
    ACCEPTED,
    badRequest('`identifiers.fs_user_id` is not an identifier type of this tenant'),
    ...COMMON_ERRORS,
  );
}
