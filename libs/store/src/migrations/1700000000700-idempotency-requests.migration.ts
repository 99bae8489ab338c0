import { MigrationInterface, QueryRunner } from 'typeorm';

/** Answers kept for the `Idempotency-Key` request header (DESIGN §10). */
export class IdempotencyRequests1700000000700 implements MigrationInterface {
  name = 'IdempotencyRequests1700000000700';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE idempotency_requests (
        tenant text NOT NULL,
        key text NOT NULL,
        fingerprint text NOT NULL,
        state text NOT NULL CHECK (state IN ('in-flight', 'done')),
        status integer,
        response jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, key)
      );
      CREATE INDEX idempotency_requests_created ON idempotency_requests (created_at);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE idempotency_requests`);
  }
}
