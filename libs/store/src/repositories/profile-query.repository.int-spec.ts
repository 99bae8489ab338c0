// DESIGN §10 plural identifiers on real PostgreSQL: per type, up to 25 values, most recently seen
// first (then by value), in the same single round trip as the look-up.
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../../../test/support/database';
import { createDataSource, runMigrationsLocked } from '../database/database';
import type { Pool } from 'pg';
import { IdentifierKey, LOOKUP_BATCH_MAX, ProfileQueryRepository, ProfileView, RECENT_IDENTIFIERS } from './profile-query.repository';

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

async function profile(id: string, mergedInto: string | null = null, tenant = 't') {
  await ds.query(
    `INSERT INTO profiles (tenant, id, attributes, created_at, created_record_id, updated_at, merged_into) VALUES ($3, $1, jsonb_build_object('first_name', $1::text), now(), 'r', now(), $2)`,
    [id, mergedInto, tenant],
  );
}
async function identifier(profileId: string, type: string, value: string, firstSeen: string, lastSeen: string, tenant = 't') {
  await ds.query(
    `INSERT INTO identifiers (tenant, type, value, profile_id, confidence, first_seen, last_seen) VALUES ($6, $1, $2, $3, 'high', $4, $5)`,
    [type, value, profileId, firstSeen, lastSeen, tenant],
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

describe('ProfileQueryRepository: look-ups made at once', () => {
  const pool = () => (ds.driver as unknown as { master: Pool }).master;

  beforeAll(async () => {
    await profile('b1');
    await profile('b1-old', 'b1');
    await identifier('b1', 'email', 'b@x.co', '2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z');
    await identifier('b1-old', 'vuid', 'vb-old', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z');
    await identifier('b1', 'vuid', 'vb', '2024-01-03T00:00:00Z', '2024-01-03T00:00:00Z');
    // The same email in another tenant is another person.
    await profile('u1', null, 'u');
    await identifier('u1', 'email', 'b@x.co', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', 'u');
  });

  afterEach(() => jest.restoreAllMocks());

  const keys: IdentifierKey[] = [
    { tenant: 't', type: 'email', value: 'b@x.co' },
    { tenant: 'u', type: 'email', value: 'b@x.co' },
    { tenant: 't', type: 'zaius_id', value: 'b1-old' },
    { tenant: 't', type: 'vuid', value: 'vb-old' },
    { tenant: 't', type: 'email', value: 'nobody@x.co' },
    { tenant: 'u', type: 'zaius_id', value: 'b1' },
  ];

  it('given look-ups of several tenants and types at once (repeats too), then each gets what it gets alone, from one statement per batch', async () => {
    const alone: Array<ProfileView | null> = [];
    for (const k of keys) alone.push((await query.findByIdentifiers([k]))[0]);
    expect(alone.map((v) => v?.id ?? null)).toEqual(['b1', 'u1', 'b1', 'b1', null, null]);

    const statements = jest.spyOn(pool(), 'query');
    const count = LOOKUP_BATCH_MAX + 44;
    const answers = await Promise.all(
      Array.from({ length: count }, (_, n) => {
        const { tenant, type, value } = keys[n % keys.length];
        return query.findByIdentifier(tenant, type, value);
      }),
    );

    expect(answers).toEqual(Array.from({ length: count }, (_, n) => alone[n % keys.length]));
    expect(answers[0]!.identifiers).toEqual({ email: ['b@x.co'], vuid: ['vb'] });
    expect(statements).toHaveBeenCalledTimes(2); // LOOKUP_BATCH_MAX, then the other 44
  });

  it('given a statement that fails, then the look-ups of its batch fail with its error and the next are answered', async () => {
    // PostgreSQL text cannot hold U+0000: the whole statement is refused (the service refuses such values first).
    const failed = await Promise.allSettled([query.findByIdentifier('t', 'email', 'b@x.co'), query.findByIdentifier('t', 'email', 'bad\u0000@x.co')]);
    expect(failed.map((f) => f.status)).toEqual(['rejected', 'rejected']);
    expect(String((failed[0] as PromiseRejectedResult).reason)).toMatch(/0x00/);

    expect((await query.findByIdentifier('t', 'email', 'b@x.co'))?.id).toBe('b1');
  });
});
