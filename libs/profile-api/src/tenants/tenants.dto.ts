import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** OpenAPI shapes of `/api/v1/tenants` (DESIGN §12, seed 004); the rules are in tenant-admin.rules.ts. */

export class CreateTenantDto {
  @ApiProperty({ description: 'The tenant name (also its id in keys and URLs); a name that does not match is answered 400', pattern: '^[a-z][a-z0-9]+$', maxLength: 63, example: 'acme' })
  name!: string;

  @ApiPropertyOptional({ description: 'A name for people (defaults to `name`)', maxLength: 200, example: 'Acme Inc' })
  display_name?: string;
}

export class RateLimitDto {
  @ApiProperty({ description: 'Items (upserted profiles, events, look-ups) per second, per process', minimum: 0, example: 5000 })
  items_per_second!: number;

  @ApiPropertyOptional({ description: 'Burst (token bucket size); defaults to items_per_second', minimum: 0, example: 10000 })
  burst?: number;
}

export class UpdateTenantDto {
  @ApiPropertyOptional({
    description: 'ISO 3166-1 alpha-2 region phones without a country code are read in (DESIGN §5); null = the default (US)',
    type: 'string',
    nullable: true,
    example: 'GB',
  })
  default_region?: string | null;

  @ApiPropertyOptional({ description: 'The tenant\'s rate limit; null = the process default', type: () => RateLimitDto, nullable: true })
  rate_limit?: RateLimitDto | null;
}

export class TenantDto {
  @ApiProperty({ example: 'acme' })
  name!: string;

  @ApiProperty({ example: 'Acme Inc' })
  display_name!: string;

  @ApiProperty({ type: 'string', nullable: true, example: 'GB' })
  default_region!: string | null;

  @ApiProperty({ type: () => RateLimitDto, nullable: true })
  rate_limit!: RateLimitDto | null;

  @ApiProperty({ format: 'date-time', example: '2026-12-03T01:02:03.456Z' })
  created_at!: string;
}

export class TenantListDto {
  @ApiProperty({ type: () => [TenantDto] })
  tenants!: TenantDto[];
}

export class CreateApiKeyDto {
  @ApiProperty({ enum: ['public', 'read', 'private'], description: 'public: ingest only; read: every GET; private: everything', example: 'read' })
  kind!: string;

  @ApiPropertyOptional({
    type: [String],
    description: 'The key reads only profiles whose `restriction` attribute is one of these (none without one); absent or [] = unrestricted. Writes are not restricted.',
    maxItems: 100,
    example: ['DE'],
  })
  restrictions?: string[];

  @ApiPropertyOptional({ description: 'A note for people (listed with the prefix)', maxLength: 200, example: 'analytics export' })
  label?: string;
}

export class ApiKeyDto {
  @ApiProperty({ description: 'The key\'s first characters: its kind (tpk_, trk_, tsk_) and 8 characters unique among keys; revoke by it', example: 'trk_Q3k9xZ1a' })
  prefix!: string;

  @ApiProperty({ example: 'acme' })
  tenant!: string;

  @ApiProperty({ enum: ['public', 'read', 'private'], example: 'read' })
  kind!: string;

  @ApiProperty({ type: [String], description: '[] = unrestricted', example: ['DE'] })
  restrictions!: string[];

  @ApiProperty({ type: 'string', nullable: true, example: 'analytics export' })
  label!: string | null;

  @ApiProperty({ format: 'date-time', example: '2026-12-03T01:02:03.456Z' })
  created_at!: string;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, example: null })
  revoked_at!: string | null;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ description: 'The key: shown in this answer only (stored hashed)', example: 'trk_Q3k9xZ1aVbW2cD4eF6gH8iJ0kL2mN4oP' })
  key!: string;
}

export class ApiKeyListDto {
  @ApiProperty({ type: () => [ApiKeyDto] })
  keys!: ApiKeyDto[];
}
