import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { PROBLEM_TYPES, problemBody, type ProblemBody } from '../problem.exception';

/** The media type of every native-API error (DESIGN §12), without parameters as OpenAPI names it. */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** One entry of a validation problem's `errors[]`: a JSON path into the body and what is wrong there. */
export class ProblemFieldErrorDto {
  @ApiProperty({ description: 'JSON path of the field in the request body', example: 'attributes.email' })
  field!: string;

  @ApiProperty({ description: 'What is wrong with it', example: 'must be a string of 1–255 characters' })
  message!: string;
}

/** An error of the native API `/api/v1` (RFC 9457 problem details, DESIGN §12). */
export class ProblemDto {
  @ApiProperty({ description: 'The kind of error (a URN per status)', enum: [...new Set(Object.values(PROBLEM_TYPES))], example: PROBLEM_TYPES[404] })
  type!: string;

  @ApiProperty({ description: 'The HTTP status phrase', example: 'Not Found' })
  title!: string;

  @ApiProperty({ description: 'The HTTP status', type: 'integer', minimum: 400, maximum: 599, example: 404 })
  status!: number;

  @ApiProperty({ description: 'What went wrong in this request (names the parameter or field)', example: 'no profile with id 0190a4c2-7d1e-7b3a-9c55-2f4d8e6a1b20' })
  detail!: string;

  @ApiProperty({ description: 'The request path (no query string)', example: '/api/v1/profiles/0190a4c2-7d1e-7b3a-9c55-2f4d8e6a1b20' })
  instance!: string;

  @ApiPropertyOptional({ description: 'Validation errors (422 only): one per invalid body field', type: () => [ProblemFieldErrorDto] })
  errors?: ProblemFieldErrorDto[];
}

/** Example problem bodies, built by the code that builds the real ones. */
export function problemExample(status: number, detail: string, instance: string, errors?: ProblemBody['errors']): ProblemBody {
  return problemBody(status, detail, instance, errors);
}

const DEFAULT_DESCRIPTIONS: Record<number, string> = {
  400: 'A malformed query-string parameter (named in `detail`) or a malformed JSON body',
  401: 'No key, or a key Tessera does not know (`x-api-key` or `Authorization: Bearer`)',
  403: 'The key is valid but its kind does not allow this route',
  404: 'No such resource in the key\'s tenant (another tenant\'s id answers 404 too)',
  409: 'Conflict: an identifier already belongs to another profile, or the name is taken',
  413: 'Request body over the size limit',
  415: 'Request body is not JSON',
  422: 'Request body fields are invalid: `errors[]` names each field',
  429: 'Over the tenant\'s rate limit (`Retry-After`)',
  503: 'The log or the database cannot take the request now (`Retry-After`)',
};

/**
 * Documents a problem+json answer of a native-API route (DESIGN §12), e.g.
 * `@ApiProblemResponse(404)` or `@ApiProblemResponse(422, 'Invalid profile', example)`.
 */
export function ApiProblemResponse(status: number, description?: string, example?: ProblemBody): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ProblemDto, ProblemFieldErrorDto),
    ApiResponse({
      status,
      description: description ?? DEFAULT_DESCRIPTIONS[status] ?? `Error ${status}`,
      content: { [PROBLEM_MEDIA_TYPE]: { schema: { $ref: getSchemaPath(ProblemDto) }, ...(example ? { example } : {}) } },
    }),
  ) as MethodDecorator & ClassDecorator;
}

/** Several problem answers at once with their default descriptions: `@ApiProblemResponses(400, 401, 403, 404)`. */
export function ApiProblemResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(...statuses.map((status) => ApiProblemResponse(status))) as MethodDecorator & ClassDecorator;
}
