// DESIGN §10 plural identifiers on real PostgreSQL: per type, up to 25 values, most recently seen
// first (then by value), in the same single round trip as the look-up.
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../../../test/support/database';
import { createDataSource, runMigrationsLocked } from '../database/database';
import { ProfileQueryRepository, RECENT_IDENTIFIERS } from './profile-query.repository';

let db: TestDatabase;
let ds: DataSource;
let query: ProfileQueryRepository;

beforeAll(async () => {
  db = await createTestDatabase('profile_query');
  ds = createDataSource(db.url, 4);
  await ds.initialize();
  await runMigrationsLocked(ds);
  query = new ProfileQueryRepository(ds);
});

afterAll(async () => {
  await ds.destroy();
  await db.drop();
});

async function profile(id: string, mergedInto: string | null = null) {
  await ds.query(
    `INSERT INTO profiles (tenant, id, attributes, created_at, created_record_id, updated_at, merged_into) VALUES ('t', $1, '{"first_name":"Ann"}', now(), 'r', now(), $2)`,
    [id, mergedInto],
  );
}
async function identifier(profileId: string, type: string, value: string, firstSeen: string, lastSeen: string) {
  await ds.query(
    `INSERT INTO identifiers (tenant, type, value, profile_id, confidence, first_seen, last_seen) VALUES ('t', $1, $2, $3, 'high', $4, $5)`,
    [type, value, profileId, firstSeen, lastSeen],
  );
}

describe('ProfileQueryRepository.findByIdentifier', () => {
  it('given 30 emails, then recentIdentifiers holds the 25 most recently seen, newest first, ties by value; identifiers all, first seen first', async () => {
    await profile('p1');
    for (let i = 0; i < 30; i++) {
      const n = String(i).padStart(2, '0');
      // last_seen rises with i, except e28/e29 which tie with e27; first_seen falls with i.
      const last = `2024-01-01T00:00:${String(Math.min(i, 27)).padStart(2, '0')}Z`;
      await identifier('p1', 'email', `e${n}@x.co`, `2023-01-01T00:00:${String(59 - i).padStart(2, '0')}Z`, last);
    }
    await identifier('p1', 'vuid', 'v-old', '2023-01-01T00:00:00Z', '2023-06-01T00:00:00Z');
    await identifier('p1', 'vuid', 'v-new', '2023-02-01T00:00:00Z', '2024-06-01T00:00:00Z');

    const view = (await query.findByIdentifier('t', 'email', 'e03@x.co'))!;
    expect(view.id).toBe('p1');
    expect(view.recentIdentifiers.email).toHaveLength(RECENT_IDENTIFIERS);
    expect(view.recentIdentifiers.email.slice(0, 4)).toEqual(['e27@x.co', 'e28@x.co', 'e29@x.co', 'e26@x.co']);
    expect(view.recentIdentifiers.email.at(-1)).toBe('e05@x.co');
    expect(view.recentIdentifiers.vuid).toEqual(['v-new', 'v-old']);
    expect(view.identifiers.email).toHaveLength(30);
    expect(view.identifiers.email[0]).toBe('e29@x.co'); // first seen first (unchanged)
    expect(view.identifiers.vuid).toEqual(['v-old', 'v-new']);
  });

  it('given a merged-away profile id, then the survivor and its identifiers are answered', async () => {
    await profile('p2');
    await profile('p2-old', 'p2');
    await identifier('p2', 'customer_id', 'c-2', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z');
    const view = (await query.findByIdentifier('t', 'zaius_id', 'p2-old'))!;
    expect(view.id).toBe('p2');
    expect(view.recentIdentifiers).toEqual({ customer_id: ['c-2'] });
  });

  it('given a profile without identifiers, then both lists are empty objects', async () => {
    await profile('p3');
    const view = (await query.findByIdentifier('t', 'zaius_id', 'p3'))!;
    expect(view.identifiers).toEqual({});
    expect(view.recentIdentifiers).toEqual({});
    expect(await query.findByIdentifier('t', 'email', 'nobody@x.co')).toBeNull();
  });
});
