import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A custom identifier type as stored; display name and messaging are what `GET /v3/schema/identifiers` lists (DESIGN §10). */
export interface StoredIdentifierType {
  type: string;
  confidence: 'high' | 'low';
  perProfileLimit?: number | null;
  displayName?: string;
  messaging?: boolean;
}

export interface TenantSettings {
  /** Custom identifier types beyond the defaults (DESIGN §5), in the order they were declared. */
  identifierTypes?: StoredIdentifierType[];
  /** Ingest rate limit: items per second and burst (issue: abuse). */
  rateLimit?: { itemsPerSecond: number; burst: number };
  /** ISO 3166-1 alpha-2 region phones without a country code are read in (DESIGN §5, E.164). */
  defaultRegion?: string;
}

@Entity('tenants')
export class TenantEntity {
  @PrimaryColumn('text') id!: string;
  @Column('text') name!: string;
  @Column('jsonb', { default: {} }) settings!: TenantSettings;
  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' }) createdAt!: Date;
}
