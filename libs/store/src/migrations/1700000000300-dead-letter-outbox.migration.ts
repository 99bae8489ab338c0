import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Dead letters waiting to be published to a log that cannot join a PostgreSQL transaction (Kafka):
 * written in the transaction that moves the checkpoint past them, published after it commits,
 * deleted once the log acknowledged them (issue 8 item 3).
 */
export class DeadLetterOutbox1700000000300 implements MigrationInterface {
  name = 'DeadLetterOutbox1700000000300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE dead_letter_outbox (
        id bigserial PRIMARY KEY,
        topic text NOT NULL,
        key text NOT NULL,
        value bytea NOT NULL,
        headers jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE dead_letter_outbox`);
  }
}
