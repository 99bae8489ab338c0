import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** `public`: writes only; `read`: every GET (DESIGN §12); `private`: everything. */
export type ApiKeyKind = 'public' | 'read' | 'private';

export const API_KEY_KINDS: readonly ApiKeyKind[] = ['public', 'read', 'private'];

/**
 * Keys are stored as SHA-256 hashes; `prefix` is the first characters (the kind's tag and 8 random
 * characters; 8 characters in all for keys made before issue 11), shown in lists and used to revoke.
 */
@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryColumn('text') hash!: string;
  @Column('text', { name: 'tenant_id' }) tenantId!: string;
  @Column('text') kind!: ApiKeyKind;
  @Column('text') prefix!: string;
  @Column('text', { nullable: true }) label!: string | null;
  /** Seed 004: the key reads only profiles whose `restriction` attribute is one of these; NULL = unrestricted. */
  @Column('text', { array: true, nullable: true }) restrictions!: string[] | null;
  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt!: Date | null;
}
