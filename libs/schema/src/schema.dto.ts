import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ATTRIBUTE_NAME_PATTERN, CUSTOMER_FIELD_TYPES } from '@tessera/contracts';
import { ApiZaiusErrorResponse, ApiZaiusForbiddenResponse, ZaiusErrorDto, ZaiusFieldInvalidsDto } from '@tessera/runtime';
import { IDENTIFIER_NAME_PATTERN } from './identifiers/identifier-schema.rules';
import { NAME_IN_USE } from './schema-request.error';

/** OpenAPI description of `/v3/schema/…` (DESIGN §10, ODP shapes). Text limits as `textProblem` checks them. */

const TIMESTAMP = '2026-12-03T01:02:03.456Z';
const TEXT = { minLength: 1, maxLength: 255 };

export class IdentifierDeclarationDto {
  @ApiProperty({ pattern: IDENTIFIER_NAME_PATTERN.source, maxLength: 64, example: 'fs_user_id' })
  name!: string;

  @ApiProperty({ ...TEXT, example: 'FS User ID' })
  display_name!: string;

  @ApiProperty({ enum: ['high', 'low'], description: '`high`: two profiles sharing the value are one person (merge); `low`: never merges', example: 'high' })
  merge_confidence!: 'high' | 'low';

  @ApiPropertyOptional({ type: Boolean, default: false, example: false })
  messaging?: boolean;
}

export class SchemaObjectFieldDto {
  @ApiProperty({ example: 'event_fs_user_id' })
  name!: string;

  @ApiProperty({ example: 'Event FS User ID' })
  display_name!: string;

  @ApiProperty({ enum: ['identifier'], example: 'identifier' })
  type!: 'identifier';
}

/** 201: the fields the new type added to the events and customers objects. */
export class IdentifierCreatedDto {
  @ApiProperty({ type: () => [SchemaObjectFieldDto], example: [{ name: 'event_fs_user_id', display_name: 'Event FS User ID', type: 'identifier' }] })
  events!: SchemaObjectFieldDto[];

  @ApiProperty({ type: () => [SchemaObjectFieldDto], example: [{ name: 'fs_user_id', display_name: 'Last Seen FS User ID', type: 'identifier' }] })
  customers!: SchemaObjectFieldDto[];
}

export class IdentifierTypeDto {
  @ApiProperty({ example: 'email' })
  name!: string;

  @ApiProperty({ example: 'Email' })
  display_name!: string;

  @ApiProperty({ enum: ['high', 'low'], example: 'high' })
  merge_confidence!: 'high' | 'low';

  @ApiProperty({ type: Boolean, example: true })
  messaging!: boolean;
}

export class IdentifierListDto {
  @ApiProperty({ type: () => [IdentifierTypeDto], description: 'Built-in and custom identifier types' })
  identifiers!: IdentifierTypeDto[];
}

export class CustomerFieldRequestDto {
  @ApiProperty({ pattern: ATTRIBUTE_NAME_PATTERN.source, example: 'loyalty_points' })
  name!: string;

  @ApiProperty({ enum: [...CUSTOMER_FIELD_TYPES], example: 'number' })
  type!: string;

  @ApiProperty({ ...TEXT, example: 'Loyalty points' })
  display_name!: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 1024, example: 'Points balance of the loyalty programme' })
  description?: string;
}

/** A declared field as the API shows it. */
export class CustomerFieldDto {
  @ApiProperty({ example: 'loyalty_points' })
  name!: string;

  @ApiProperty({ enum: [...CUSTOMER_FIELD_TYPES], example: 'number' })
  type!: string;

  @ApiProperty({ type: String, nullable: true, example: 'Loyalty points' })
  display_name!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'Points balance of the loyalty programme' })
  description!: string | null;
}

export class CustomerFieldListDto {
  @ApiProperty({ type: () => [CustomerFieldDto] })
  fields!: CustomerFieldDto[];
}

/** 400 of a schema request: invalid fields (`{field, reason}`) or a body that is not an object. */
export function ApiSchemaBadRequest(field: string): MethodDecorator {
  return applyDecorators(
    ApiExtraModels(ZaiusFieldInvalidsDto, ZaiusErrorDto),
    ApiResponse({
      status: 400,
      description: 'Invalid fields (`detail.invalids` of `{field, reason}`; a name in use is one of them), or a body that is not a JSON object (`detail.message`)',
      content: {
        'application/json': {
          schema: { oneOf: [{ $ref: getSchemaPath(ZaiusFieldInvalidsDto) }, { $ref: getSchemaPath(ZaiusErrorDto) }] },
          examples: {
            nameInUse: { summary: 'Name in use', value: { title: 'Bad Request', status: 400, timestamp: TIMESTAMP, detail: { invalids: [{ field, reason: NAME_IN_USE }] } } },
          },
        },
      },
    }),
    ApiZaiusForbiddenResponse(),
    ApiZaiusErrorResponse(429),
  );
}
