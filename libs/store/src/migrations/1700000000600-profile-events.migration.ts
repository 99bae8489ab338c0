import { MigrationInterface, QueryRunner } from 'typeorm';

/** Events kept per profile and the idempotence ids already applied (DESIGN §10). */
export class ProfileEvents1700000000600 implements MigrationInterface {
  name = 'ProfileEvents1700000000600';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      -- profile_id: the profile the event was applied to; after a merge it is read through merged_into.
      CREATE TABLE profile_events (
        tenant text NOT NULL,
        id text NOT NULL,
        profile_id text NOT NULL,
        type text NOT NULL,
        action text,
        ts timestamptz NOT NULL,
        identifiers jsonb NOT NULL,
        data jsonb NOT NULL,
        PRIMARY KEY (tenant, id)
      );
      CREATE INDEX profile_events_profile ON profile_events (tenant, profile_id, ts DESC, id DESC);

      -- data.idempotence_id of applied events: a repeat within the window (by receivedAt) has no effect.
      CREATE TABLE idempotence_ids (
        tenant text NOT NULL,
        key text NOT NULL,
        received_at timestamptz NOT NULL,
        record_id text NOT NULL,
        PRIMARY KEY (tenant, key)
      );

      -- A replay's copy of the log, applied in record-id order (the same whatever the partition count).
      CREATE UNLOGGED TABLE replay_records (
        sort_key text NOT NULL,
        partition integer NOT NULL,
        "offset" bigint NOT NULL,
        key text,
        value bytea NOT NULL,
        headers jsonb NOT NULL,
        tombstone boolean NOT NULL DEFAULT false,
        PRIMARY KEY (sort_key, partition, "offset")
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE replay_records, idempotence_ids, profile_events`);
  }
}
