import { applyDecorators } from '@nestjs/common';
import { ApiOkResponse, ApiParam, ApiProperty, ApiQuery } from '@nestjs/swagger';
import { ApiProblemResponse, problemExample } from '@tessera/runtime';
import { EVENTS_PAGE } from './events-query';

/** OpenAPI description of `GET /api/v1/profiles/{id}/events` (DESIGN §10, §12 conventions). */

const PROFILE_ID = '0193a4c2-7d1e-7b3a-9c55-2f4d8e6a1b20';

export class ProfileEventDto {
  @ApiProperty({ description: 'The event\'s record id (uuid v7)', example: '0193a4c3-1a2b-7c3d-8e4f-5a6b7c8d9e0f' })
  id!: string;

  @ApiProperty({ example: 'order' })
  type!: string;

  @ApiProperty({ type: String, nullable: true, example: 'purchase' })
  action!: string | null;

  @ApiProperty({ format: 'date-time', description: 'Event time', example: '2026-12-03T01:00:00.000Z' })
  ts!: string;

  @ApiProperty({ type: 'object', additionalProperties: true, example: { email: 'jane@example.com' } })
  identifiers!: Record<string, unknown>;

  @ApiProperty({ type: 'object', additionalProperties: true, example: { order_id: 'A-1001', total: 42.5 } })
  data!: Record<string, unknown>;
}

export class ProfileEventsPageDto {
  @ApiProperty({ type: () => [ProfileEventDto], description: 'Newest first' })
  events!: ProfileEventDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Cursor of the next page (`?cursor=`), null on the last', example: null })
  next!: string | null;
}

export function ApiProfileEvents(): MethodDecorator {
  return applyDecorators(
    ApiParam({ name: 'id', description: 'Profile id (a merged-away id lists its survivor\'s events)', example: PROFILE_ID }),
    ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: EVENTS_PAGE.maxLimit, default: EVENTS_PAGE.defaultLimit }, description: 'Events per page' }),
    ApiQuery({ name: 'cursor', required: false, schema: { type: 'string' }, description: 'The `next` of the previous page' }),
    ApiOkResponse({ type: ProfileEventsPageDto }),
    ApiProblemResponse(400, 'A bad query parameter (named in `detail`)', problemExample(400, 'query parameter `limit` must be an integer from 1 to 500 (got "0")', `/api/v1/profiles/${PROFILE_ID}/events`)),
    ApiProblemResponse(401),
    ApiProblemResponse(403),
    ApiProblemResponse(404, 'No such profile in the key\'s tenant', problemExample(404, `no profile with id ${PROFILE_ID}`, `/api/v1/profiles/${PROFILE_ID}/events`)),
    ApiProblemResponse(429),
  );
}
