import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '@tessera/testing/database';
import { createDataSource, runMigrationsLocked } from '../database/database';
import { IdentifierHasher } from './identifier-hasher';

describe('IdentifierHasher', () => {
  let db: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('hasher');
    dataSource = createDataSource(db.url, 2);
    await dataSource.initialize();
    await runMigrationsLocked(dataSource);
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  it('given one database, when two processes load the hasher, then they hash alike and never return the value', async () => {
    const a = await IdentifierHasher.load(dataSource);
    const b = await IdentifierHasher.load(dataSource);
    const h = a.hash('acme', 'email', 'ann@example.com');
    expect(b.hash('acme', 'email', 'ann@example.com')).toBe(h);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(a.hash('acme', 'vuid', 'ann@example.com')).not.toBe(h);
    expect(a.hash('other', 'email', 'ann@example.com')).not.toBe(h);
    const rows: unknown[] = await dataSource.query(`SELECT 1 FROM tessera_secrets`);
    expect(rows).toHaveLength(1);
  });
});
