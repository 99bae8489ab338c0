import { MigrationInterface, QueryRunner } from 'typeorm';

/** Answers kept for the `Idempotency-Key` request header (DESIGN §10). */
export class IdempotencyRequests1700000000700 implements MigrationInterface {
  name = 'IdempotencyRequests1700000000700';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      -- One row per (tenant, key): 'in-flight' while the first request runs, 'done' with its 2xx answer.
      -- fingerprint: hash of the route and the parsed body (a different body under the same key is a 422).
      -- token: the request that holds the row; only it may complete or release it (a request that was
      -- presumed abandoned and finishes late cannot overwrite the one that took its key over).
      CREATE TABLE idempotency_requests (
        tenant text NOT NULL,
        key text NOT NULL,
        fingerprint text NOT NULL,
        state text NOT NULL CHECK (state IN ('in-flight', 'done')),
        status integer,
        response jsonb,
        token uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, key),
        CHECK (state = 'in-flight' OR status IS NOT NULL)
      );
      CREATE INDEX idempotency_requests_created ON idempotency_requests (created_at);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE idempotency_requests`);
  }
}
