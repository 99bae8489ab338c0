import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiOkResponse, ApiParam, ApiProperty, ApiPropertyOptional, ApiQuery, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { CONSENT_LIMITS } from '@tessera/contracts';
import { ApiZaiusErrorResponse, ApiZaiusErrorResponses, ApiZaiusForbiddenResponse, ZaiusAcceptedDto, ZaiusErrorDto, ZaiusInvalidsDto } from '@tessera/runtime';

/** OpenAPI description of `/v3/consent` (DESIGN §11). */

const TIMESTAMP = '2026-12-03T01:02:03.456Z';

export class ConsentItemDto {
  @ApiProperty({ description: 'An identifier type of the tenant', example: 'email' })
  identifier_field_name!: string;

  @ApiProperty({ description: 'The identifier value (normalised as on ingest)', example: 'jane@example.com' })
  identifier_value!: string;

  @ApiProperty({ type: Boolean, example: false })
  consent!: boolean;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: CONSENT_LIMITS.maxReasonLength, example: 'unsubscribed from the newsletter' })
  consent_update_reason?: string | null;

  @ApiPropertyOptional({
    description: 'When consent changed: epoch seconds, epoch ms or ISO 8601 (default: received time). The latest wins, whatever the arrival order.',
    oneOf: [{ type: 'number' }, { type: 'string', format: 'date-time' }, { type: 'null' }],
    example: 1764723723,
  })
  consent_update_ts?: number | string | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true, description: 'Accepted and ignored (ODP clients send it)' })
  event_data?: Record<string, unknown> | null;
}

export class ConsentViewDto {
  @ApiProperty({ example: 'email' })
  identifier_field_name!: string;

  @ApiProperty({ description: 'The value as normalised', example: 'jane@example.com' })
  identifier_value!: string;

  @ApiProperty({ type: Boolean, nullable: true, description: '`null`: no consent was ever given or withdrawn for it', example: false })
  consent!: boolean | null;

  @ApiProperty({ type: String, nullable: true, example: 'unsubscribed from the newsletter' })
  consent_update_reason!: string | null;

  @ApiProperty({ type: 'integer', nullable: true, description: 'Epoch seconds', example: 1764723723 })
  consent_update_ts!: number | null;
}

/** `POST /v3/consent`. */
export function ApiConsentUpdate(): MethodDecorator {
  const item = { identifier_field_name: 'email', identifier_value: 'jane@example.com', consent: false, consent_update_reason: 'unsubscribed from the newsletter', consent_update_ts: 1764723723 };
  return applyDecorators(
    ApiExtraModels(ConsentItemDto, ZaiusAcceptedDto, ZaiusInvalidsDto, ZaiusErrorDto),
    ApiBody({
      description: `One object or an array of 1–${CONSENT_LIMITS.maxItems}; all-or-nothing`,
      schema: { oneOf: [{ $ref: getSchemaPath(ConsentItemDto) }, { type: 'array', minItems: 1, maxItems: CONSENT_LIMITS.maxItems, items: { $ref: getSchemaPath(ConsentItemDto) } }] },
      examples: { batch: { summary: 'An opt-out', value: [item] } },
    }),
    ApiResponse({
      status: 202,
      description: 'Every item is durably on the log',
      content: { 'application/json': { schema: { $ref: getSchemaPath(ZaiusAcceptedDto) }, example: { title: 'Accepted', status: 202, timestamp: TIMESTAMP } } },
    }),
    ApiResponse({
      status: 400,
      description: 'Invalid items (`detail.invalids`, nothing published) or a bad body (`detail.message`)',
      content: {
        'application/json': {
          schema: { oneOf: [{ $ref: getSchemaPath(ZaiusInvalidsDto) }, { $ref: getSchemaPath(ZaiusErrorDto) }] },
          example: { title: 'Bad Request', status: 400, timestamp: TIMESTAMP, detail: { invalids: [{ event: 0, message: '`consent` is required: true or false' }] } },
        },
      },
    }),
    ApiZaiusForbiddenResponse(),
    ApiZaiusErrorResponses(413, 415, 429, 503),
  );
}

/** `GET /v3/consent/{identifier_field_name}?id=`. */
export function ApiConsentFind(): MethodDecorator {
  return applyDecorators(
    ApiParam({ name: 'identifier_field_name', description: 'An identifier type of the tenant', example: 'email' }),
    ApiQuery({ name: 'id', required: true, description: 'The identifier value', schema: { type: 'string', minLength: 1, example: 'jane@example.com' } }),
    ApiOkResponse({
      type: ConsentViewDto,
      example: { identifier_field_name: 'email', identifier_value: 'jane@example.com', consent: false, consent_update_reason: 'unsubscribed from the newsletter', consent_update_ts: 1764723723 },
    }),
    ApiZaiusErrorResponse(400, 'Unknown identifier type, a missing, repeated or empty `id`, or another parameter', 'query parameter `id` is required: ?id=<identifier value>'),
    ApiZaiusForbiddenResponse(),
    ApiZaiusErrorResponse(429),
  );
}
