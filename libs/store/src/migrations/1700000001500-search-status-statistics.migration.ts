import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Statistics on the status expression every `filter[status]=active` listing filters by (DESIGN §12;
 * libs/store/src/profile-search: `COALESCE(attributes->>'$status', 'active')`). Without them the
 * planner takes the default 0.5 % for it — 121 of 20,426 matches estimated at 200,000 profiles — and
 * a created_at-ordered page of a city's active profiles read the GIN matches and sorted them instead
 * of walking profiles_search_created until the page was full (127 ms instead of 73 ms of PostgreSQL
 * CPU). Only ANALYZE computes them: writes cost nothing more.
 */
export class SearchStatusStatistics1700000001500 implements MigrationInterface {
  name = 'SearchStatusStatistics1700000001500';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE STATISTICS IF NOT EXISTS profiles_search_status ON (COALESCE(attributes->>'$status', 'active')) FROM profiles`);
    await q.query(`ANALYZE profiles`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP STATISTICS IF EXISTS profiles_search_status`);
  }
}
