import { ApiPropertyOptional } from '@nestjs/swagger';
import { PROFILE_STATUSES } from '@tessera/contracts';
import { MAX_CONTACTS, PASSWORD_LIMITS, TAG_LIMITS } from '../profiles/profile-body';
import { NativeContactInputDto } from '../profiles/profiles.dto';

/**
 * A customer's profile in a request (seed 000, DESIGN §12): `username` and `wishlist` are attributes;
 * `is_primary` sits beside `attributes`; the customer comes from the path (a body `customer` is
 * read-only and ignored, as are `id`, `enabled`, `has_password`, `created_at`, `updated_at`).
 */
export class CustomerProfileWriteDto {
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Attributes with the /v3 upsert rules; `username` is an identifier (unique per tenant, one per profile: a taken one → 409), `wishlist` an array attribute',
    example: { username: 'marysmith', email: 'mary.smith@example.com', wishlist: ['sku-1', 'sku-2'] },
  })
  attributes?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Whether it is the customer\'s primary profile: setting one makes the others non-primary', example: true })
  is_primary?: boolean;

  @ApiPropertyOptional({ enum: PROFILE_STATUSES, description: 'Default active', example: 'active' })
  status?: string;

  @ApiPropertyOptional({ type: [String], maxItems: TAG_LIMITS.maxTags, example: ['vip'] })
  tags?: string[];

  @ApiPropertyOptional({ minLength: PASSWORD_LIMITS.min, maxLength: PASSWORD_LIMITS.max, writeOnly: true, description: 'Write-only, hashed (scrypt) before it reaches the log', example: 'correct horse battery' })
  password?: string;

  @ApiPropertyOptional({ writeOnly: true, description: 'Seed 000: must equal `password` when given; never stored', example: 'correct horse battery' })
  password_confirm?: string;

  @ApiPropertyOptional({ type: () => [NativeContactInputDto], maxItems: MAX_CONTACTS })
  contacts?: NativeContactInputDto[];
}
