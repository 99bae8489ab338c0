import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { createTestDatabase, openTestPool } from '@tessera/testing/database';
import { PostgresLog1700000000000 } from '../postgres-log.migration';

export interface PostgresLogTestDb {
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/** A fresh database with the log schema applied through the real TypeORM migration. */
export async function createPostgresLogTestDb(prefix = 'evlog'): Promise<PostgresLogTestDb> {
  const db = await createTestDatabase(prefix);
  const dataSource = new DataSource({ type: 'postgres', url: db.url, migrations: [PostgresLog1700000000000], logging: false });
  await dataSource.initialize();
  try {
    await dataSource.runMigrations();
  } finally {
    await dataSource.destroy();
  }
  const pool = openTestPool(db.url, 12);
  return {
    url: db.url,
    pool,
    async drop() {
      await pool.end().catch(() => undefined);
      await db.drop();
    },
  };
}
