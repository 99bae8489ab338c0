import { MigrationInterface, QueryRunner } from 'typeorm';

/** Tenants, API keys, profile projections, identifier graph, consumer checkpoints (DESIGN §7). */
export class ProfileStore1700000000100 implements MigrationInterface {
  name = 'ProfileStore1700000000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenants (
        id text PRIMARY KEY,
        name text NOT NULL,
        settings jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE api_keys (
        hash text PRIMARY KEY,
        tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('public', 'private')),
        prefix text NOT NULL,
        label text,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      );
      CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

      -- attribute_versions: attribute -> [ts ms, record id] of its last write (null writes too).
      CREATE TABLE profiles (
        tenant text NOT NULL,
        id text NOT NULL,
        attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
        attribute_versions jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL,
        created_record_id text NOT NULL,
        updated_at timestamptz NOT NULL,
        merged_into text,
        version integer NOT NULL DEFAULT 1,
        PRIMARY KEY (tenant, id)
      );
      CREATE INDEX profiles_merged_into ON profiles (tenant, merged_into) WHERE merged_into IS NOT NULL;

      CREATE TABLE identifiers (
        tenant text NOT NULL,
        type text NOT NULL,
        value text NOT NULL,
        profile_id text NOT NULL,
        confidence text NOT NULL,
        first_seen timestamptz NOT NULL,
        last_seen timestamptz NOT NULL,
        PRIMARY KEY (tenant, type, value)
      );
      CREATE INDEX identifiers_profile ON identifiers (tenant, profile_id);

      -- Warnings the resolver records (merge protection, identifiers not moved).
      CREATE TABLE identity_warnings (
        id bigserial PRIMARY KEY,
        tenant text NOT NULL,
        record_id text NOT NULL,
        profile_id text,
        message text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (record_id, message)
      );

      CREATE TABLE consumer_offsets (
        consumer_group text NOT NULL,
        topic text NOT NULL,
        partition integer NOT NULL,
        next_offset bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer_group, topic, partition)
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE consumer_offsets, identity_warnings, identifiers, profiles, api_keys, tenants`);
  }
}
