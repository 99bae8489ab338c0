import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The search GIN (migration 1100) keeps new entries in a pending list that the inserting transaction
 * flushes into the index once it passes gin_pending_list_limit (default 4 MB). With every profile
 * update re-indexing its attributes, that flush landed on one projector batch every few thousand
 * upserts and stalled it: max batch 472–517 ms against a p50 of 42 ms (100-record batches, 20,000
 * people, projector-throughput measure), the ingest → queryable p95 tail. 256 kB flushes cost
 * ≈ 100 ms at most with the same PostgreSQL CPU per record (6.9–7.0 s vs 6.7 s per 28,678 records);
 * fastupdate off removes the stall but costs +60 % PostgreSQL CPU. Searches scan a smaller list too.
 */
export class SearchPendingList1700000001400 implements MigrationInterface {
  name = 'SearchPendingList1700000001400';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER INDEX profiles_search_attributes SET (gin_pending_list_limit = 256)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER INDEX profiles_search_attributes RESET (gin_pending_list_limit)`);
  }
}
