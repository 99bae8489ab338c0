import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Profiles and identifier rows are updated far more often than inserted (every sighting moves
 * last_seen, every upsert rewrites attributes): leave room on each page so those updates can be
 * HOT (no new index entries).
 */
export class HotUpdates1700000000200 implements MigrationInterface {
  name = 'HotUpdates1700000000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE profiles SET (fillfactor = 80)`);
    await q.query(`ALTER TABLE identifiers SET (fillfactor = 80)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE profiles RESET (fillfactor)`);
    await q.query(`ALTER TABLE identifiers RESET (fillfactor)`);
  }
}
