import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../../../test/support/database';
import { createDataSource, runMigrationsLocked } from '../database/database';
import { ProjectionRulesRepository } from './projection-rules.repository';

let db: TestDatabase;
let ds: DataSource;
let rules: ProjectionRulesRepository;

beforeEach(async () => {
  db = await createTestDatabase('rules_repo');
  ds = createDataSource(db.url, 4);
  await ds.initialize();
  await runMigrationsLocked(ds);
  rules = new ProjectionRulesRepository(ds);
});

afterEach(async () => {
  await ds.destroy();
  await db.drop();
});

const addProfile = () =>
  ds.query(`INSERT INTO profiles (tenant, id, created_at, created_record_id, updated_at) VALUES ('default', gen_random_uuid()::text, now(), 'r1', now())`);

describe('ProjectionRulesRepository.check', () => {
  it('given an empty store without a version, then it is stamped current (nothing to rebuild), also by racing starters', async () => {
    const states = await Promise.all([rules.check(3), rules.check(3), rules.check(3)]);
    expect(states).toEqual(Array(3).fill({ kind: 'current', version: 3 }));
    expect(await rules.storedVersion()).toBe(3);
  });

  it('given profiles but no version (built before versioning), then outdated with no stored version, and nothing is stamped', async () => {
    await addProfile();
    expect(await rules.check(3)).toEqual({ kind: 'outdated', stored: undefined, current: 3 });
    expect(await rules.storedVersion()).toBeUndefined();
  });

  it('given an older or newer stamp, then outdated naming it; after write(current) it is current', async () => {
    await rules.write(2);
    expect(await rules.check(3)).toEqual({ kind: 'outdated', stored: 2, current: 3 });
    await rules.write(4);
    expect(await rules.check(3)).toEqual({ kind: 'outdated', stored: 4, current: 3 });
    await rules.write(3);
    expect(await rules.check(3)).toEqual({ kind: 'current', version: 3 });
  });
});
