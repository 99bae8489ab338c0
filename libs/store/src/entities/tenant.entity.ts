import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export interface TenantSettings {
  /** Custom identifier types beyond the defaults (DESIGN §5). */
  identifierTypes?: Array<{ type: string; confidence: 'high' | 'low'; perProfileLimit?: number | null }>;
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
