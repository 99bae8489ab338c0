import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Native API listing and search (DESIGN §12): indexes on the profile projection, live rows only
 * (merged-away rows are never listed).
 * - attributes (GIN, jsonb_path_ops): equality on any attribute, a tag (`$tags`), a status other than
 *   active (`$status`) and a customer (`$customer`), all as containment (`@>`). `active` is the
 *   default and the bulk, so it is filtered, not indexed. Identifiers use the identifiers primary key.
 * - (tenant, created_at, id): the default order, and keyset cursors on it.
 * Costs: every profile update that changes attributes becomes a non-HOT update (each index gets an
 * entry). No index on updated_at: it would end HOT for every update (updated_at always moves); a
 * filtered search sorted by updated_at sorts its matches (top-N), measured in the issue-11 note.
 */
export class ProfileSearch1700000001100 implements MigrationInterface {
  name = 'ProfileSearch1700000001100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX profiles_search_attributes ON profiles USING gin (attributes jsonb_path_ops) WHERE merged_into IS NULL`);
    await q.query(`CREATE INDEX profiles_search_created ON profiles (tenant, created_at, id) WHERE merged_into IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS profiles_search_created`);
    await q.query(`DROP INDEX IF EXISTS profiles_search_attributes`);
  }
}
