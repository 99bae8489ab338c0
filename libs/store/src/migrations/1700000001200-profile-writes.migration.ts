import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Native API writes (DESIGN §12): the outcome of every profile-change record, written by the projector
 * in the batch's transaction, read by the handler that waits for it (read-your-writes). Derived state:
 * a replay truncates and rebuilds it. No personal data: ids, a state and a field name.
 */
export class ProfileWrites1700000001200 implements MigrationInterface {
  name = 'ProfileWrites1700000001200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE profile_write_outcomes (
        record_id text PRIMARY KEY,
        tenant text NOT NULL,
        state text NOT NULL CHECK (state IN ('applied', 'conflict', 'not-found')),
        -- applied: the live profile holding the change; conflict/not-found: the profile named (if any)
        profile_id text,
        -- conflict: the profile that owns the identifier, and the request field that names it
        owner_id text,
        field text,
        -- applied contact ops: the contact linked
        contact_id text,
        applied_at timestamptz NOT NULL DEFAULT now()
      );
      -- An erasure removes the outcomes that name the erased person (as it removes warnings).
      CREATE INDEX profile_write_outcomes_profile ON profile_write_outcomes (tenant, profile_id);
      CREATE INDEX profile_write_outcomes_owner ON profile_write_outcomes (tenant, owner_id) WHERE owner_id IS NOT NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS profile_write_outcomes`);
  }
}
