import { MigrationInterface, QueryRunner } from 'typeorm';

/** Native API writes (DESIGN §12): outcomes of profile-change records for the waiting handler. */
export class ProfileWrites1700000001200 implements MigrationInterface {
  name = 'ProfileWrites1700000001200';

  async up(_q: QueryRunner): Promise<void> {
    // DDL filled in by its owner (issue 11).
  }

  async down(_q: QueryRunner): Promise<void> {}
}
