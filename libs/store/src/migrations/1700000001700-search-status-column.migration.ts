import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A profile's status as a stored column (`$status`, active when no native write set one), so that an
 * index on declared search attributes (search-attributes.ts) can hold it: PostgreSQL answers a count
 * from an index alone (index-only scan) only when every column the query names is in the index, and an
 * expression such as `COALESCE(attributes->>'$status', 'active')` names `attributes`. The listing's
 * `filter[status]` and `sort=status` read this column (libs/store/src/profile-search).
 */
export class SearchStatusColumn1700000001700 implements MigrationInterface {
  name = 'SearchStatusColumn1700000001700';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE profiles ADD COLUMN search_status text GENERATED ALWAYS AS (COALESCE(attributes->>'$status', 'active')) STORED`);
    await q.query(`ANALYZE profiles`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE profiles DROP COLUMN IF EXISTS search_status`);
  }
}
