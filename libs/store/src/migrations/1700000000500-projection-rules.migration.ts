import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The rules version the profile projections were built under (one row; issue 9 item 10). No row is
 * written here: projections that exist before this migration were built under unversioned rules.
 */
export class ProjectionRules1700000000500 implements MigrationInterface {
  name = 'ProjectionRules1700000000500';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE projection_rules (
        id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        version integer NOT NULL,
        built_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE projection_rules`);
  }
}
