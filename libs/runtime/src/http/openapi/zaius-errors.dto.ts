import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { titleFor } from '../api-problem.exception';

/** The Zaius/ODP answer shapes of `/v3` (DESIGN §3, §10): `{title, status, timestamp, detail?}`. */

const TIMESTAMP = '2026-12-03T01:02:03.456Z';

/** `202 {"title":"Accepted","status":202,"timestamp":…}`: every item is durably on the log. */
export class ZaiusAcceptedDto {
  @ApiProperty({ enum: ['Accepted'], example: 'Accepted' })
  title!: string;

  @ApiProperty({ type: 'integer', enum: [202], example: 202 })
  status!: number;

  @ApiProperty({ format: 'date-time', example: TIMESTAMP })
  timestamp!: string;
}

/** The 202 body of every `/v3` write, stamped now. */
export function zaiusAccepted(): ZaiusAcceptedDto {
  return { title: 'Accepted', status: 202, timestamp: new Date().toISOString() };
}

export class ZaiusMessageDetailDto {
  @ApiProperty({ description: 'What is wrong', example: 'Malformed JSON: Unexpected end of JSON input' })
  message!: string;
}

/** A `/v3` error: `{title, status, timestamp, detail: {message}}` (`detail` is absent on 503 and 500). */
export class ZaiusErrorDto {
  @ApiProperty({ example: 'Bad Request' })
  title!: string;

  @ApiProperty({ type: 'integer', minimum: 400, maximum: 599, example: 400 })
  status!: number;

  @ApiProperty({ format: 'date-time', example: TIMESTAMP })
  timestamp!: string;

  @ApiPropertyOptional({ type: () => ZaiusMessageDetailDto })
  detail?: ZaiusMessageDetailDto;
}

/** One invalid item of a batch: its index in the array (0 for a single object) and what is wrong, naming the field. */
export class ZaiusInvalidItemDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Index of the item in the array (0 for a single object)', example: 1 })
  event!: number;

  @ApiProperty({ description: 'What is wrong, naming the field', example: 'attributes.email must be a string of 1-255 characters' })
  message!: string;
}

export class ZaiusInvalidsDetailDto {
  @ApiProperty({ type: () => [ZaiusInvalidItemDto], minItems: 1 })
  invalids!: ZaiusInvalidItemDto[];
}

/** The `400` envelope of /v3 refusals that list what is wrong (`detail.invalids`). */
abstract class ZaiusBadRequestDto {
  @ApiProperty({ enum: ['Bad Request'], example: 'Bad Request' })
  title!: string;

  @ApiProperty({ type: 'integer', enum: [400], example: 400 })
  status!: number;

  @ApiProperty({ format: 'date-time', example: TIMESTAMP })
  timestamp!: string;
}

/** `400` of a batch with invalid items: nothing was published (all-or-nothing), every invalid item is listed. */
export class ZaiusInvalidsDto extends ZaiusBadRequestDto {
  @ApiProperty({ type: () => ZaiusInvalidsDetailDto })
  detail!: ZaiusInvalidsDetailDto;
}

/** A refused schema request (ODP names fields, not items): `{field, reason}`. */
export class ZaiusFieldInvalidDto {
  @ApiProperty({ example: 'customers.name' })
  field!: string;

  @ApiProperty({ example: 'already used by another object' })
  reason!: string;
}

export class ZaiusFieldInvalidsDetailDto {
  @ApiProperty({ type: () => [ZaiusFieldInvalidDto], minItems: 1 })
  invalids!: ZaiusFieldInvalidDto[];
}

/** `400` of a schema request: `detail.invalids` of `{field, reason}`. */
export class ZaiusFieldInvalidsDto extends ZaiusBadRequestDto {
  @ApiProperty({ type: () => ZaiusFieldInvalidsDetailDto })
  detail!: ZaiusFieldInvalidsDetailDto;
}

/** `403 {"message":"Forbidden"}`: a missing, unknown or insufficient key on `/v3` (DESIGN §3). */
export class ZaiusForbiddenDto {
  @ApiProperty({ enum: ['Forbidden'], example: 'Forbidden' })
  message!: string;
}

export const ZAIUS_MODELS = [ZaiusAcceptedDto, ZaiusMessageDetailDto, ZaiusErrorDto, ZaiusInvalidItemDto, ZaiusInvalidsDetailDto, ZaiusInvalidsDto, ZaiusFieldInvalidDto, ZaiusFieldInvalidsDetailDto, ZaiusFieldInvalidsDto, ZaiusForbiddenDto];

/** An example `/v3` error body with the title the filter gives that status. */
export function zaiusErrorExample(status: number, message?: string): ZaiusErrorDto {
  return { title: titleFor(status), status, timestamp: TIMESTAMP, ...(message ? { detail: { message } } : {}) };
}

const ZAIUS_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad request (`detail.message` says what)',
  404: 'Not found',
  413: 'Request body over the size limit (default 4 MiB)',
  415: 'Request body is not JSON',
  422: 'The `Idempotency-Key` was used before with a different body',
  409: 'A request with the same `Idempotency-Key` is still in flight',
  429: 'Over the tenant\'s rate limit; retry after `Retry-After` seconds',
  503: 'The log could not take the batch in time; retry the whole batch after `Retry-After` seconds (safe)',
};

const ZAIUS_EXAMPLE_MESSAGES: Record<number, string | undefined> = {
  400: 'Malformed JSON: Unexpected end of JSON input',
  404: 'No such route',
  409: 'A request with Idempotency-Key "order-4711" is still being processed; retry once it is answered',
  413: 'Request body is larger than the limit of 4194304 bytes',
  415: 'Unsupported Media Type: text/plain',
  422: 'Idempotency-Key "order-4711" was used with a different request body; send a new key with a new request',
  429: 'rate limit of 1000 items/s (burst 2000) exceeded for this tenant; retry after 2s',
  503: undefined,
};

/** `Retry-After` of the answers that ask the client to come back (429, 503, an in-flight 409). */
export const RETRY_AFTER_HEADER = { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 1 } } };
const RETRY_STATUSES = new Set([409, 429, 503]);

/** Documents a `/v3` error answer in Zaius's shape (`ZaiusErrorDto`). */
export function ApiZaiusErrorResponse(status: number, description?: string, message?: string): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(...ZAIUS_MODELS),
    ApiResponse({
      status,
      description: description ?? ZAIUS_DESCRIPTIONS[status] ?? `Error ${status}`,
      ...(RETRY_STATUSES.has(status) ? { headers: RETRY_AFTER_HEADER } : {}),
      content: { 'application/json': { schema: { $ref: getSchemaPath(ZaiusErrorDto) }, example: zaiusErrorExample(status, message ?? ZAIUS_EXAMPLE_MESSAGES[status]) } },
    }),
  ) as MethodDecorator & ClassDecorator;
}

/** Several `/v3` error answers with their default descriptions: `@ApiZaiusErrorResponses(413, 415, 429, 503)`. */
export function ApiZaiusErrorResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(...statuses.map((status) => ApiZaiusErrorResponse(status))) as MethodDecorator & ClassDecorator;
}

/** `403 {"message":"Forbidden"}` of a `/v3` route. */
export function ApiZaiusForbiddenResponse(description = 'Missing or unknown `x-api-key`, or a key whose kind does not allow this route'): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ZaiusForbiddenDto),
    ApiResponse({ status: 403, description, content: { 'application/json': { schema: { $ref: getSchemaPath(ZaiusForbiddenDto) }, example: { message: 'Forbidden' } } } }),
  ) as MethodDecorator & ClassDecorator;
}
