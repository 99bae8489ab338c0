import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiOkResponse, ApiParam, ApiProperty, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { MAX_ERASURE_ITEMS, MAX_REQUESTER_LENGTH, REGULATIONS } from '@tessera/contracts';
import { ApiZaiusErrorResponse, ApiZaiusForbiddenResponse, ZaiusErrorDto, ZaiusInvalidsDto } from '@tessera/runtime';

/** OpenAPI description of `/v3/compliance/…` (DESIGN §11, ODP shapes). */

const TIMESTAMP = '2026-12-03T01:02:03.456Z';

export class ErasureRequestItemDto {
  @ApiProperty({ minLength: 1, maxLength: MAX_REQUESTER_LENGTH, description: 'Who asked (kept for the audit trail)', example: 'privacy@example.com' })
  requester!: string;

  @ApiProperty({ description: 'An identifier type of the tenant', example: 'email' })
  identifier_field_name!: string;

  @ApiProperty({ description: 'The identifier value (normalised as on ingest); the person it resolves to is erased', example: 'jane@example.com' })
  identifier_value!: string;
}

export class ErasureAcceptedDto {
  @ApiProperty({ type: [String], description: 'One request id per item, for the status route', example: ['0193a4c2-7d1e-7b3a-9c55-2f4d8e6a1b20'] })
  request_ids!: string[];
}

export const REGULATION_PARAM = ApiParam({ name: 'regulation', enum: [...REGULATIONS], description: 'gdpr, ccpa and lgpd are the same operation', example: 'gdpr' });

/** `POST /v3/compliance/{regulation}/delete`. */
export function ApiErasureRequest(): MethodDecorator {
  const item = { requester: 'privacy@example.com', identifier_field_name: 'email', identifier_value: 'jane@example.com' };
  return applyDecorators(
    ApiExtraModels(ErasureRequestItemDto, ErasureAcceptedDto, ZaiusInvalidsDto, ZaiusErrorDto),
    REGULATION_PARAM,
    ApiBody({
      description: `An array of 1–${MAX_ERASURE_ITEMS} deletion requests (or one request object)`,
      schema: { oneOf: [{ type: 'array', minItems: 1, maxItems: MAX_ERASURE_ITEMS, items: { $ref: getSchemaPath(ErasureRequestItemDto) } }, { $ref: getSchemaPath(ErasureRequestItemDto) }] },
      examples: { batch: { summary: 'One person', value: [item] } },
    }),
    ApiResponse({
      status: 202,
      description: 'The log holds an erasure record per item; the status route says when the PII is gone',
      content: { 'application/json': { schema: { $ref: getSchemaPath(ErasureAcceptedDto) }, example: { request_ids: ['0193a4c2-7d1e-7b3a-9c55-2f4d8e6a1b20'] } } },
    }),
    ApiResponse({
      status: 400,
      description: 'Invalid items (`detail.invalids`, nothing was recorded) or a bad body (`detail.message`)',
      content: {
        'application/json': {
          schema: { oneOf: [{ $ref: getSchemaPath(ZaiusInvalidsDto) }, { $ref: getSchemaPath(ZaiusErrorDto) }] },
          example: { title: 'Bad Request', status: 400, timestamp: TIMESTAMP, detail: { invalids: [{ event: 0, message: '`requester` is required' }] } },
        },
      },
    }),
    ApiZaiusForbiddenResponse(),
    ApiZaiusErrorResponse(404, 'No such regulation', 'No such route'),
    ApiZaiusErrorResponse(429),
    ApiZaiusErrorResponse(503),
  );
}

/** `GET /v3/compliance/{regulation}/status/{requestId}`. */
export function ApiErasureStatus(): MethodDecorator {
  return applyDecorators(
    REGULATION_PARAM,
    ApiParam({ name: 'requestId', description: 'A request id the delete route answered', example: '0193a4c2-7d1e-7b3a-9c55-2f4d8e6a1b20' }),
    ApiOkResponse({ description: 'A JSON string: `COMPLETED` once the PII is nowhere Tessera keeps it', schema: { type: 'string', enum: ['IN_PROGRESS', 'COMPLETED'] }, example: 'COMPLETED' }),
    ApiZaiusForbiddenResponse(),
    ApiZaiusErrorResponse(404, 'Unknown request id (or another tenant\'s)', 'Unable to find deletion request 0193a4c2-7d1e-7b3a-9c55-2f4d8e6a1b20'),
  );
}
