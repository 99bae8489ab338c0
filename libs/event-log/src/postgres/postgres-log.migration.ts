import { MigrationInterface, QueryRunner } from 'typeorm';

/** Schema of the Postgres log (DESIGN §1, §7). Raw SQL so the schema reads the same as the adapter's queries. */
export const POSTGRES_LOG_UP_SQL = [
  `CREATE TABLE log_topics (
    name text PRIMARY KEY,
    partitions integer NOT NULL CHECK (partitions > 0),
    retention_ms bigint NOT NULL DEFAULT -1,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  // One row per partition: the offset allocator. Producers lock it (FOR UPDATE) for their transaction,
  // which is what makes offsets contiguous and commit in offset order.
  `CREATE TABLE log_partitions (
    topic text NOT NULL REFERENCES log_topics (name) ON DELETE CASCADE,
    partition integer NOT NULL CHECK (partition >= 0),
    next_offset bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (topic, partition)
  )`,
  // No foreign key on purpose: it would cost a lookup per inserted row; producers check the partition row anyway.
  `CREATE TABLE log_records (
    topic text NOT NULL,
    partition integer NOT NULL,
    "offset" bigint NOT NULL,
    key text,
    value bytea NOT NULL,
    headers jsonb NOT NULL DEFAULT '{}'::jsonb,
    ts timestamptz NOT NULL DEFAULT statement_timestamp(),
    PRIMARY KEY (topic, partition, "offset")
  )`,
  `CREATE TABLE log_group_offsets (
    group_id text NOT NULL,
    topic text NOT NULL,
    partition integer NOT NULL,
    next_offset bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
  )`,
  // Live members hold an advisory lock (lock_key) on their session; the row says what they subscribe to.
  `CREATE TABLE log_group_members (
    group_id text NOT NULL,
    member_id text NOT NULL,
    topics text[] NOT NULL,
    lock_key bigint NOT NULL,
    joined_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, member_id)
  )`,
  // Current owner of a group's partition; generation fences offset commits of a member that lost it.
  `CREATE TABLE log_group_assignments (
    group_id text NOT NULL,
    topic text NOT NULL,
    partition integer NOT NULL,
    member_id text NOT NULL,
    generation bigint NOT NULL,
    assigned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
  )`,
];

export const POSTGRES_LOG_DOWN_SQL = [
  'DROP TABLE IF EXISTS log_group_assignments',
  'DROP TABLE IF EXISTS log_group_members',
  'DROP TABLE IF EXISTS log_group_offsets',
  'DROP TABLE IF EXISTS log_records',
  'DROP TABLE IF EXISTS log_partitions',
  'DROP TABLE IF EXISTS log_topics',
];

export class PostgresLog1700000000000 implements MigrationInterface {
  name = 'PostgresLog1700000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    for (const sql of POSTGRES_LOG_UP_SQL) await queryRunner.query(sql);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const sql of POSTGRES_LOG_DOWN_SQL) await queryRunner.query(sql);
  }
}
