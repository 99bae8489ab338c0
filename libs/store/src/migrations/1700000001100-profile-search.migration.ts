import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Native API listing and search (DESIGN §12): indexes on the profile projection, live rows only
 * (merged-away rows are never listed).
 * - attributes (GIN, jsonb_path_ops): equality on any attribute, a tag (`$tags`), a status other than
 *   active (`$status`) and a customer (`$customer`), all as containment (`@>`). `active` is the
 *   default and the bulk, so it is filtered, not indexed. Identifiers use the identifiers primary key.
 * - (tenant, created_at, id): the default order, and keyset cursors on it.
 * What they cost the projector (issue-11 note; 50k bench-population upserts applied in-process, two
 * interleaved runs each on a shared machine): HOT updates of profiles 48% → 0% (every update changes
 * attributes, which the GIN indexes), profile indexes 4 → 19 MiB, PostgreSQL CPU +32% (9.5 → 12.5 s),
 * projector rate ≈ −25%. No index on updated_at: a filtered search scans its matches anyway (the
 * exact total must), so it would only serve unfiltered updated_at orders; with the GIN present it adds
 * no measurable cost (HOT is already gone), without it it would end HOT for every update.
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
