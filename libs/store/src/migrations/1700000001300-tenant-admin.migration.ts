import { MigrationInterface, QueryRunner } from 'typeorm';

/** Tenants and keys over HTTP (DESIGN §12, seed 004): key restrictions. */
export class TenantAdmin1700000001300 implements MigrationInterface {
  name = 'TenantAdmin1700000001300';

  async up(_q: QueryRunner): Promise<void> {
    // DDL filled in by its owner (issue 11).
  }

  async down(_q: QueryRunner): Promise<void> {}
}
