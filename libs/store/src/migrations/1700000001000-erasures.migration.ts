import { MigrationInterface, QueryRunner } from 'typeorm';

/** Erasure requests, erased identifiers (keyed hashes only) and the key of those hashes (DESIGN §11). */
export class Erasures1700000001000 implements MigrationInterface {
  name = 'Erasures1700000001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      -- One row per named secret (e.g. 'identifier-hash'): created once by the first process that needs it.
      CREATE TABLE tessera_secrets (
        name text PRIMARY KEY,
        value bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE erasure_requests (
        id text PRIMARY KEY,
        tenant text NOT NULL,
        regulation text NOT NULL,
        requester text NOT NULL,
        identifier_type text NOT NULL,
        identifier_hash text NOT NULL,
        record_id text NOT NULL,
        requested_at timestamptz NOT NULL,
        applied_at timestamptz,
        profile_id text,
        completed_at timestamptz
      );
      CREATE INDEX erasure_requests_pending ON erasure_requests (requested_at) WHERE completed_at IS NULL;

      -- Every identifier of an erased person: records received before erased_at that carry one are dropped.
      CREATE TABLE erased_identifiers (
        tenant text NOT NULL,
        type text NOT NULL,
        hash text NOT NULL,
        erased_at timestamptz NOT NULL,
        request_id text NOT NULL,
        PRIMARY KEY (tenant, type, hash)
      );
      -- The log's redaction reads the identifiers of the requests it completes.
      CREATE INDEX erased_identifiers_request ON erased_identifiers (request_id);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE erased_identifiers, erasure_requests, tessera_secrets`);
  }
}
