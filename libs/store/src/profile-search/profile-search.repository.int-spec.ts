// DESIGN §12 listings on real PostgreSQL, for both statement shapes of searchSql: a sort an index holds
// (created_at, id: the page walks the index, the total counts apart) and any other (the matches are
// materialized once). Every page, total and cursor walk must equal the same listing worked out here.
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../../../test/support/database';
import { createDataSource, runMigrationsLocked } from '../database/database';
import { ProfileSearchRepository } from './profile-search.repository';
import { indexOrdered } from './profile-search.sql';
import type { ProfileSearch, SearchCondition, SortKey } from './profile-search.types';

let db: TestDatabase;
let ds: DataSource;
let repo: ProfileSearchRepository;

interface Seeded { tenant: string; id: string; city: string; status?: string; created: number; updated: number; merged: boolean }
const seeded: Seeded[] = [];
const CITIES = ['Boston', 'Berlin', 'Lyon'];
const T0 = Date.parse('2026-01-01T00:00:00Z');

beforeAll(async () => {
  db = await createTestDatabase('profile_search');
  ds = createDataSource(db.url, 4);
  await ds.initialize();
  await runMigrationsLocked(ds);
  repo = new ProfileSearchRepository(ds);
  // 240 profiles: created_at shared by threes (the id breaks ties), updated_at in another order, some
  // closed or suspended, some merged away, a few in another tenant.
  for (let i = 0; i < 240; i++) {
    const s: Seeded = {
      tenant: i % 40 === 7 ? 'other' : 't',
      id: `p${String((i * 37) % 240).padStart(3, '0')}`,
      city: CITIES[i % 3 === 0 ? 0 : (i * 7) % 3],
      status: i % 11 === 0 ? 'closed' : i % 13 === 0 ? 'suspended' : i % 17 === 0 ? 'active' : undefined,
      created: T0 + Math.floor(i / 3) * 1000,
      updated: T0 + ((i * 53) % 240) * 1000,
      merged: i % 19 === 5,
    };
    seeded.push(s);
  }
  await ds.query(
    `INSERT INTO profiles (tenant, id, attributes, created_at, created_record_id, updated_at, merged_into)
     SELECT s.tenant, s.id, s.attributes, s.created_at, 'r', s.updated_at, s.merged_into
       FROM json_to_recordset($1::json) AS s(tenant text, id text, attributes jsonb, created_at timestamptz, updated_at timestamptz, merged_into text)`,
    [JSON.stringify(seeded.map((s) => ({
      tenant: s.tenant,
      id: s.id,
      attributes: { city: s.city, ...(s.status ? { $status: s.status } : {}) },
      created_at: new Date(s.created).toISOString(),
      updated_at: new Date(s.updated).toISOString(),
      merged_into: s.merged ? 'p999' : null,
    })))],
  );
  await ds.query('ANALYZE profiles');
});

afterAll(async () => {
  await ds.destroy();
  await db.drop();
});

const ACTIVE: SearchCondition = { field: { kind: 'status' }, op: 'eq', value: 'active' };
const BOSTON: SearchCondition = { field: { kind: 'attribute', name: 'city' }, op: 'eq', value: 'Boston' };

/** The listing worked out in JavaScript: live profiles of tenant t that match, in sort order (id tiebreak in the last key's direction). */
function expected(conditions: SearchCondition[], sort: SortKey[]): string[] {
  const rows = seeded.filter((s) => s.tenant === 't' && !s.merged)
    .filter((s) => !conditions.includes(ACTIVE) || (s.status ?? 'active') === 'active')
    .filter((s) => !conditions.includes(BOSTON) || s.city === 'Boston');
  const keyOf = (s: Seeded, k: SortKey) => (k.field.kind === 'created_at' ? s.created : k.field.kind === 'updated_at' ? s.updated : 0);
  const last = sort.length ? sort[sort.length - 1].desc : false;
  rows.sort((a, b) => {
    for (const k of sort) {
      if (k.field.kind === 'id') break;
      const d = keyOf(a, k) - keyOf(b, k);
      if (d) return k.desc ? -d : d;
    }
    const byId = a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    return (sort[0]?.field.kind === 'id' ? sort[0].desc : last) ? -byId : byId;
  });
  return rows.map((s) => s.id);
}

async function walk(conditions: SearchCondition[], sort: SortKey[], size: number): Promise<{ ids: string[]; totals: number[] }> {
  const ids: string[] = [];
  const totals: number[] = [];
  let after: readonly string[] | null = null;
  for (;;) {
    const search: ProfileSearch = { scope: { tenant: 't', restrictions: null }, conditions, sort, limit: size + 1, offset: 0, after };
    const page = await repo.search(search);
    totals.push(page.total);
    ids.push(...page.rows.slice(0, size).map((r) => r.id));
    if (page.rows.length <= size) return { ids, totals };
    after = page.rows[size - 1].sortKey;
  }
}

const SORTS: Record<string, SortKey[]> = {
  'created_at asc': [{ field: { kind: 'created_at' }, desc: false }],
  'created_at desc': [{ field: { kind: 'created_at' }, desc: true }],
  'id desc': [{ field: { kind: 'id' }, desc: true }],
  'updated_at desc': [{ field: { kind: 'updated_at' }, desc: true }],
  'created_at asc, updated_at desc': [{ field: { kind: 'created_at' }, desc: false }, { field: { kind: 'updated_at' }, desc: true }],
};

describe.each(Object.entries(SORTS))('given a filtered listing sorted by %s', (_name, sort) => {
  const conditions = [ACTIVE, BOSTON];

  it('when walked by cursor, then every match answers once, in order, each page with the exact total', async () => {
    const want = expected(conditions, sort);
    expect(want.length).toBeGreaterThan(40);
    const { ids, totals } = await walk(conditions, sort, 7);
    expect(ids).toEqual(want);
    expect(new Set(totals)).toEqual(new Set([want.length]));
  });

  it('when paged by offset, past the end too, then the slice and the total answer', async () => {
    const want = expected(conditions, sort);
    for (const offset of [0, 9, want.length - 3, want.length + 5]) {
      const page = await repo.search({ scope: { tenant: 't', restrictions: null }, conditions, sort, limit: 6, offset, after: null });
      expect(page.total).toBe(want.length);
      expect(page.rows.map((r) => r.id)).toEqual(want.slice(offset, offset + 6));
    }
  });
});

it('given the sorts above, then created_at and id take the index walk and the others the materialized matches', () => {
  expect(Object.entries(SORTS).filter(([, sort]) => indexOrdered(sort)).map(([name]) => name)).toEqual(['created_at asc', 'created_at desc', 'id desc']);
});

it('given status=active alone, then the total counts every live active profile of the tenant and the page is the first by created_at', async () => {
  const want = expected([ACTIVE], SORTS['created_at asc']);
  const page = await repo.search({ scope: { tenant: 't', restrictions: null }, conditions: [ACTIVE], sort: SORTS['created_at asc'], limit: 10, offset: 0, after: null });
  expect(page.total).toBe(want.length);
  expect(page.rows.map((r) => r.id)).toEqual(want.slice(0, 10));
});
