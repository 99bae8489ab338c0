import { MigrationInterface, QueryRunner } from 'typeorm';

/** Native API listing and search (DESIGN §12): indexes on the profile projection. */
export class ProfileSearch1700000001100 implements MigrationInterface {
  name = 'ProfileSearch1700000001100';

  async up(_q: QueryRunner): Promise<void> {
    // DDL filled in by its owner (issue 11).
  }

  async down(_q: QueryRunner): Promise<void> {}
}
