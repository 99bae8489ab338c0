import { MigrationInterface, QueryRunner } from 'typeorm';

/** `read` API keys (DESIGN §12) and consent per identifier (DESIGN §11). */
export class ReadKeysConsents1700000000900 implements MigrationInterface {
  name = 'ReadKeysConsents1700000000900';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_kind_check;
      ALTER TABLE api_keys ADD CONSTRAINT api_keys_kind_check CHECK (kind IN ('public', 'read', 'private'));

      -- Per identifier (type, normalised value), whether or not a profile holds it. value_hash: keyed hash
      -- of the value; value: null once the identifier was erased (an opt-out still holds by its hash).
      CREATE TABLE consents (
        tenant text NOT NULL,
        type text NOT NULL,
        value_hash text NOT NULL,
        value text,
        consent boolean,
        reason text,
        update_ts timestamptz NOT NULL,
        record_id text NOT NULL,
        PRIMARY KEY (tenant, type, value_hash)
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE consents; ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_kind_check;
      ALTER TABLE api_keys ADD CONSTRAINT api_keys_kind_check CHECK (kind IN ('public', 'private'))`);
  }
}
