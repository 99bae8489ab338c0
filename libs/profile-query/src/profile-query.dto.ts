import { applyDecorators } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiQuery } from '@nestjs/swagger';
import { ApiZaiusErrorResponse, ApiZaiusForbiddenResponse, ATTRIBUTE_VALUE_SCHEMA } from '@tessera/runtime';

/** OpenAPI description of `GET /v3/profiles?{identifier}={value}` (DESIGN §3, §10 plural identifiers). */

const PROFILE_ID = '0193a4c2-7d1e-7b3a-9c55-2f4d8e6a1b20';

export class ProfileLookupDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: ATTRIBUTE_VALUE_SCHEMA,
    description:
      'Current attributes, each identifier type\'s last-seen value, its plural (`emails`, `phones`, `vuids`, `customer_ids`, custom `<name>s`: up to 25 values, most recent first) and `zaius_id` (the profile id). Cleared attributes are absent.',
    example: { email: 'jane@example.com', emails: ['jane@example.com'], first_name: 'Jane', city: 'Boston', zaius_id: PROFILE_ID },
  })
  attributes!: Record<string, unknown>;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'array', items: { type: 'string' } },
    description: 'Every identifier value of the profile, by type',
    example: { email: ['jane@example.com'], vuid: ['a1b2c3d4e5f6'] },
  })
  identifiers!: Record<string, string[]>;

  @ApiProperty({ format: 'date-time', example: '2026-12-03T01:02:03.456Z' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', example: '2026-12-03T01:05:00.000Z' })
  updated_at!: string;
}

/** The look-up's single identifier parameter: its name is the identifier type (`?email=…`, `?vuid=…`, `?zaius_id=…`). */
export function ApiProfileLookup(): MethodDecorator {
  return applyDecorators(
    ApiQuery({
      name: 'identifier',
      required: true,
      style: 'form',
      explode: true,
      description: 'Exactly one query parameter named after an identifier type (any type, `zaius_id` included), e.g. `?email=jane@example.com`; normalised as on ingest',
      schema: { type: 'object', minProperties: 1, maxProperties: 1, additionalProperties: { type: 'string', minLength: 1 } },
      examples: { email: { summary: 'By email', value: { email: 'jane@example.com' } }, zaius_id: { summary: 'By profile id', value: { zaius_id: PROFILE_ID } } },
    }),
    ApiOkResponse({ type: ProfileLookupDto, description: 'The profile (a merged-away `zaius_id` answers its survivor)' }),
    ApiZaiusErrorResponse(400, 'None or several identifier parameters, an unknown type or an empty value', '`fs_user_id` is not an identifier type (customer_id, email, phone, vuid, zaius_id)'),
    ApiZaiusErrorResponse(404, 'No profile holds that identifier (or the key\'s restrictions hide it)', 'Unable to find profile for email = jane@example.com'),
    ApiZaiusForbiddenResponse(),
    ApiZaiusErrorResponse(429),
  );
}
