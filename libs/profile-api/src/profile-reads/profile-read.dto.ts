import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PROFILE_STATUSES } from '@tessera/contracts';

/** The contact object (DESIGN §12, seed 002): one identifier of the profile. */
export class ContactDto {
  @ApiProperty({ description: 'Stable id of the contact: names the tenant, key and value (a changed value has a new id)', example: 'pQ3s8b0Yl2cQn1m5T9xWvA' })
  contact_id!: string;

  @ApiProperty({ description: 'Identifier type', example: 'email' })
  key!: string;

  @ApiProperty({ description: 'Identifier value, normalised', example: 'mary.smith@example.com' })
  value!: string;

  @ApiProperty({ description: 'When the identifier was first seen on this profile', format: 'date-time', example: '2026-01-01T00:00:00.000Z' })
  created_at!: string;

  @ApiProperty({ description: 'When the identifier was last seen', format: 'date-time', example: '2026-01-02T00:00:00.000Z' })
  updated_at!: string;
}

/** The profile object (DESIGN §12). */
export class ProfileDto {
  @ApiProperty({ description: 'The profile id (zaius_id)', format: 'uuid', example: '0190a4c2-7d1e-7b3a-9c55-2f4d8e6a1b20' })
  id!: string;

  @ApiProperty({ enum: [...PROFILE_STATUSES], example: 'active' })
  status!: string;

  @ApiProperty({ description: 'status == "active"', example: true })
  enabled!: boolean;

  @ApiProperty({ type: [String], example: ['blue', 'green'] })
  tags!: string[];

  @ApiProperty({ description: 'Customer attributes as stored (the latest value of each identifier too; `contacts` lists every identifier)', type: 'object', additionalProperties: true, example: { first_name: 'Mary', city: 'Boston' } })
  attributes!: Record<string, unknown>;

  @ApiProperty({ type: () => [ContactDto] })
  contacts!: ContactDto[];

  @ApiProperty({ description: 'Whether a password is set (the password itself is never returned)', example: false })
  has_password!: boolean;

  @ApiProperty({ format: 'date-time', example: '2026-01-01T00:00:00.000Z' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', example: '2026-01-02T00:00:00.000Z' })
  updated_at!: string;

  @ApiPropertyOptional({ description: 'Only on a profile that belongs to a customer account (seed 000)', example: 'acme-42' })
  customer?: string;

  @ApiPropertyOptional({ description: 'Only on a customer\'s profile: whether it is the customer\'s primary profile', example: true })
  is_primary?: boolean;
}

/** A page of a profile listing (DESIGN §12); the header `X-Total-Count` repeats `total`. */
export class ProfileListDto {
  @ApiProperty({ type: () => [ProfileDto] })
  profiles!: ProfileDto[];

  @ApiProperty({ description: 'Profiles matching the filters (all pages)', type: 'integer', example: 1 })
  total!: number;

  @ApiProperty({ description: 'Page size', type: 'integer', example: 60 })
  limit!: number;

  @ApiProperty({ description: 'Profiles before this page', type: 'integer', example: 0 })
  offset!: number;

  @ApiProperty({ description: 'Cursor of the next page (send it as `cursor` with the same filter, sort and limit); null on the last page', type: 'string', nullable: true, example: null })
  next!: string | null;
}
