import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tenants and keys over HTTP (DESIGN §12, seed 004): key restrictions (NULL = unrestricted), and an
 * index to revoke a key by its tenant and prefix.
 */
export class TenantAdmin1700000001300 implements MigrationInterface {
  name = 'TenantAdmin1700000001300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE api_keys ADD COLUMN restrictions text[];
      CREATE INDEX api_keys_tenant_prefix ON api_keys (tenant_id, prefix text_pattern_ops);
      CREATE INDEX api_keys_prefix ON api_keys (prefix text_pattern_ops);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX api_keys_prefix; DROP INDEX api_keys_tenant_prefix; ALTER TABLE api_keys DROP COLUMN restrictions`);
  }
}
