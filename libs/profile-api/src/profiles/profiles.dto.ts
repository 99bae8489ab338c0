import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PROFILE_STATUSES } from '@tessera/contracts';
import { MAX_CONTACTS, PASSWORD_LIMITS, TAG_LIMITS } from './profile-body';

/**
 * OpenAPI shapes of the native profile writes' requests (DESIGN §12); answers are the reads' ProfileDto
 * and ContactDto. Documentation only: bodies are judged by `parseProfileBody` / `parseContactBody`
 * (precise 422 paths), not by these classes.
 */

const ID = '0190a4c2-7d1e-7b3a-9c55-2f4d8e6a1b20';
const CONTACT_ID = 'q3Jx0m1s8bqk4Zy7dC2wEw';

/** A contact in a request: read-only fields of the contact object (`contact_id`, `created_at`, `updated_at`) are ignored. */
export class NativeContactInputDto {
  @ApiProperty({ description: 'An identifier type of the tenant (not zaius_id)', example: 'phone' })
  key!: string;

  @ApiProperty({ description: 'A value the type accepts (normalised like a /v3 look-up)', example: '+14155550123' })
  value!: string;
}

export class NativeContactPatchDto {
  @ApiPropertyOptional({ description: 'An identifier type of the tenant (not zaius_id)', example: 'phone' })
  key?: string;

  @ApiPropertyOptional({ description: 'A value the type accepts', example: '+14155550199' })
  value?: string;
}

const ATTRIBUTES_DESCRIPTION =
  'Attributes with the /v3 upsert rules (names ^[a-z][a-z0-9_]{0,63}$, strings ≤ 8192 bytes, arrays ≤ 100 strings/numbers); ' +
  'identifier attributes (email, phone, customer_id, username, …) link the profile; null clears.';

/**
 * The writable fields of a profile. Read-only fields of the profile object (`id`, `enabled`,
 * `has_password`, `created_at`, `updated_at`, `contacts[].contact_id`) are accepted and ignored; any
 * other unknown field is a 422 naming it.
 */
export class NativeProfileWriteDto {
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: ATTRIBUTES_DESCRIPTION, example: { email: 'mary.smith@example.com', first_name: 'Mary' } })
  attributes?: Record<string, unknown>;

  @ApiPropertyOptional({ enum: PROFILE_STATUSES, description: 'Default active', example: 'active' })
  status?: string;

  @ApiPropertyOptional({ type: [String], maxItems: TAG_LIMITS.maxTags, description: `At most ${TAG_LIMITS.maxTags} strings of 1–${TAG_LIMITS.maxLength} characters (no surrounding whitespace, no control characters); repeats are kept once`, example: ['blue', 'green'] })
  tags?: string[];

  @ApiPropertyOptional({ minLength: PASSWORD_LIMITS.min, maxLength: PASSWORD_LIMITS.max, writeOnly: true, description: 'Write-only: hashed (scrypt) before it reaches the log; `has_password` says one is set', example: 'correct horse battery' })
  password?: string;

  @ApiPropertyOptional({ type: () => [NativeContactInputDto], maxItems: MAX_CONTACTS, description: 'Identifiers to link (a create may carry its identifiers here instead of in attributes)' })
  contacts?: NativeContactInputDto[];

  @ApiPropertyOptional({ description: 'The customer account that owns the profile (seed 000)', example: 'c-1001' })
  customer?: string;

  @ApiPropertyOptional({ description: 'Whether it is its customer\'s primary profile (the latest one set wins)', example: false })
  is_primary?: boolean;
}

/** `202` when the write was not applied within TESSERA_SYNC_WRITE_TIMEOUT_MS: it is on the log; `Location` names the resource. */
export class PendingWriteDto {
  @ApiProperty({ description: 'The profile the write goes to', example: ID })
  id!: string;

  @ApiPropertyOptional({ description: 'Contact writes: the contact\'s id', example: CONTACT_ID })
  contact_id?: string;

  @ApiPropertyOptional({ description: 'DELETE: the erasure\'s GDPR request id; `Location` is its status (GET /v3/compliance/gdpr/status/{request_id})', example: '0192f3a4-5b6c-7d8e-9f00-112233445566' })
  request_id?: string;

  @ApiProperty({ enum: ['pending'], example: 'pending' })
  status!: string;
}
