import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export interface TenantSettings {
  /** Custom identifier types beyond the defaults (DESIGN §5). */
  identifierTypes?: Array<{ type: string; confidence: 'high' | 'low'; perProfileLimit?: number | null }>;
  /** Ingest rate limit: items per second and burst (issue: abuse). */
  rateLimit?: { itemsPerSecond: number; burst: number };
}

@Entity('tenants')
export class TenantEntity {
  @PrimaryColumn('text') id!: string;
  @Column('text') name!: string;
  @Column('jsonb', { default: {} }) settings!: TenantSettings;
  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' }) createdAt!: Date;
}
