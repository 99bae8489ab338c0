import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** `public`: writes only; `read`: every GET (DESIGN §12); `private`: everything. */
export type ApiKeyKind = 'public' | 'read' | 'private';

export const API_KEY_KINDS: readonly ApiKeyKind[] = ['public', 'read', 'private'];

/** Keys are stored as SHA-256 hashes; `prefix` is the first characters, for listing only. */
@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryColumn('text') hash!: string;
  @Column('text', { name: 'tenant_id' }) tenantId!: string;
  @Column('text') kind!: ApiKeyKind;
  @Column('text') prefix!: string;
  @Column('text', { nullable: true }) label!: string | null;
  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt!: Date | null;
}
