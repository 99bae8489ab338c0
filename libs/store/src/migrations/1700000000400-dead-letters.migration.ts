import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The dead letters' lifecycle (issue 9 item 6): one row per record the projector could not apply,
 * written in the transaction that moves the checkpoint past it. The DLQ topic keeps the record itself
 * (key, value, headers); this table keeps only where it came from, why, and its state — no key or
 * values (personal data). Unique on the source record, so a replay cannot dead-letter it twice.
 */
export class DeadLetters1700000000400 implements MigrationInterface {
  name = 'DeadLetters1700000000400';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE dead_letters (
        id uuid PRIMARY KEY,
        source_topic text NOT NULL,
        source_partition integer NOT NULL,
        source_offset bigint NOT NULL,
        schema text,
        error text NOT NULL,
        state text NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'retried', 'resolved', 'discarded')),
        attempts integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        retried_at timestamptz,
        UNIQUE (source_topic, source_partition, source_offset)
      )`);
    await q.query(`CREATE INDEX dead_letters_state_idx ON dead_letters (state, created_at)`);
    // Dead letters already in a Postgres log's DLQ become `new` dead letters (a Kafka DLQ cannot be read
    // here). The error loses quoted input, as errorWithoutValues does.
    await q.query(`
      INSERT INTO dead_letters (id, source_topic, source_partition, source_offset, schema, error, created_at, updated_at)
      SELECT gen_random_uuid(), headers->>'source-topic', (headers->>'source-partition')::int, (headers->>'source-offset')::bigint,
             headers->>'schema',
             left(regexp_replace(regexp_replace(coalesce(headers->>'error', ''), '".*("|$)', '"…"'), '''[^'']*''', '''…''', 'g'), 1000),
             ts, ts
      FROM log_records
      WHERE topic = 'tessera.profile-upserts.v1.dlq' AND headers->>'source-topic' IS NOT NULL
        AND headers->>'source-partition' ~ '^[0-9]+$' AND headers->>'source-offset' ~ '^[0-9]+$'
      ORDER BY partition, "offset"
      ON CONFLICT DO NOTHING`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE dead_letters`);
  }
}
