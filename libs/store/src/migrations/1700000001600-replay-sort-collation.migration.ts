import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A replay sorts the drained log in memory (byte-wise: JavaScript's string order for these ASCII keys)
 * or, when it does not fit, in replay_records. Sorted byte-wise there too (COLLATE "C"), the order never
 * depends on the database's collation nor on which of the two sorted it. The table is empty between replays.
 */
export class ReplaySortCollation1700000001600 implements MigrationInterface {
  name = 'ReplaySortCollation1700000001600';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE replay_records ALTER COLUMN sort_key TYPE text COLLATE "C"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE replay_records ALTER COLUMN sort_key TYPE text COLLATE "default"`);
  }
}
