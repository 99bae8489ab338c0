import { MigrationInterface, QueryRunner } from 'typeorm';

/** Declared customer fields of a tenant (DESIGN §10 field schema), validated on ingest. */
export class CustomerFields1700000000800 implements MigrationInterface {
  name = 'CustomerFields1700000000800';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE customer_fields (
        tenant text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name text NOT NULL,
        type text NOT NULL CHECK (type IN ('string', 'number', 'timestamp', 'boolean')),
        display_name text,
        description text,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, name)
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE customer_fields`);
  }
}
