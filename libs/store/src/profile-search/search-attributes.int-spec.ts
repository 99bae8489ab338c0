// Declared search attributes (TESSERA_SEARCH_ATTRIBUTES) on real PostgreSQL: reconciling adds and drops
// their columns and indexes, a listing on one answers exactly what the GIN path answers (totals, pages,
// cursor walks, whatever JSON the attribute holds, values too long for an index entry included), its
// count can come from the index alone, and a repository that read the declared set before another
// process dropped one still answers.
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../../../test/support/database';
import { createDataSource, runMigrationsLocked } from '../database/database';
import { ProfileSearchRepository } from './profile-search.repository';
import { searchSql } from './profile-search.sql';
import type { ProfileSearch, SearchCondition, SortKey } from './profile-search.types';
import { declaredSearchAttributes, reconcileSearchAttributes } from './search-attributes';

let db: TestDatabase;
let ds: DataSource;

// What `city` holds, one per profile in turn: strings, numbers and booleans (and their text), JSON
// null, an array and an object holding a string that is searched for, or nothing; and strings too long
// for the column (4,000 characters: above btree's entry limit) or for the query to use it (600).
// Incompressible (PostgreSQL compresses index entries): base64 of chained SHA-256 digests.
const noise = (seed: string, length: number): string => {
  let out = '';
  for (let h = seed; out.length < length; ) out += (h = createHash('sha256').update(h).digest('base64'));
  return out.slice(0, length);
};
const LONG = noise('long', 4000);
const MIDDLE = noise('middle', 600);
const CITY_VALUES: unknown[] = ['Boston', 'Lyon', 5, '5', true, 'true', null, ['Boston'], { name: 'Boston' }, 2.5, undefined, 'Boston', LONG, MIDDLE];
const STATUSES = [undefined, 'active', 'closed', undefined, 'suspended', undefined, undefined];

beforeAll(async () => {
  db = await createTestDatabase('search_attributes');
  ds = createDataSource(db.url, 4);
  await ds.initialize();
  await runMigrationsLocked(ds);
  const rows = Array.from({ length: 600 }, (_, i) => {
    const city = CITY_VALUES[i % CITY_VALUES.length];
    const status = STATUSES[i % STATUSES.length];
    return {
      tenant: i % 50 === 3 ? 'other' : 't',
      id: `p${String((i * 7) % 600).padStart(3, '0')}`,
      attributes: { ...(city === undefined ? {} : { city }), ...(status ? { $status: status } : {}), plan: i % 2 ? 'pro' : 'free' },
      created_at: new Date(Date.UTC(2026, 0, 1) + Math.floor(i / 4) * 1000).toISOString(),
      updated_at: new Date(Date.UTC(2026, 0, 1) + ((i * 53) % 600) * 1000).toISOString(),
      merged_into: i % 23 === 4 ? 'p999' : null,
    };
  });
  await ds.query(
    `INSERT INTO profiles (tenant, id, attributes, created_at, created_record_id, updated_at, merged_into)
     SELECT s.tenant, s.id, s.attributes, s.created_at, 'r', s.updated_at, s.merged_into
       FROM json_to_recordset($1::json) AS s(tenant text, id text, attributes jsonb, created_at timestamptz, updated_at timestamptz, merged_into text)`,
    [JSON.stringify(rows)],
  );
});

afterAll(async () => {
  await ds.destroy();
  await db.drop();
});

interface PlanNode { 'Node Type': string; 'Index Name'?: string; Plans?: PlanNode[] }
const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

const indexesOf = async (): Promise<string[]> =>
  (await ds.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'profiles' AND starts_with(indexname, 'profiles_search_attr_') ORDER BY 1`)).map((r: { indexname: string }) => r.indexname);

describe('given the declared search attributes reconciled', () => {
  afterAll(() => reconcileSearchAttributes(ds, []));

  it('when a list is declared, changed and cleared, then exactly its columns and indexes exist each time', async () => {
    expect(await reconcileSearchAttributes(ds, ['city', 'plan'])).toEqual({ added: ['city', 'plan'], dropped: [] });
    expect(await declaredSearchAttributes(ds)).toEqual(['city', 'plan']);
    expect(await indexesOf()).toEqual(['profiles_search_attr_city', 'profiles_search_attr_plan']);
    expect(await reconcileSearchAttributes(ds, ['city', 'plan'])).toEqual({ added: [], dropped: [] });
    expect(await reconcileSearchAttributes(ds, ['city'])).toEqual({ added: [], dropped: ['plan'] });
    expect(await indexesOf()).toEqual(['profiles_search_attr_city']);
    expect(await reconcileSearchAttributes(ds, [])).toEqual({ added: [], dropped: ['city'] });
    expect(await declaredSearchAttributes(ds)).toEqual([]);
    expect(await indexesOf()).toEqual([]);
  });

  it('when a column of an older definition exists, then it is not read as declared and the next reconcile makes it again', async () => {
    await ds.query(`ALTER TABLE profiles ADD COLUMN search_attr_plan jsonb GENERATED ALWAYS AS (attributes->'plan') STORED`);
    expect(await declaredSearchAttributes(ds)).toEqual([]);
    expect(await reconcileSearchAttributes(ds, ['plan'])).toEqual({ added: ['plan'], dropped: [] });
    expect(await declaredSearchAttributes(ds)).toEqual(['plan']);
    expect(await indexesOf()).toEqual(['profiles_search_attr_plan']);
    await ds.query(`ALTER TABLE profiles ADD COLUMN search_attr_zip jsonb GENERATED ALWAYS AS (attributes->'zip') STORED`);
    expect(await reconcileSearchAttributes(ds, [])).toEqual({ added: [], dropped: ['plan', 'zip'] });
  });

  it('when a name is not a field name, then nothing changes and the error names it', async () => {
    await expect(reconcileSearchAttributes(ds, ["city'"])).rejects.toThrow(/"city'"/);
    expect(await declaredSearchAttributes(ds)).toEqual([]);
  });
});

describe('given city declared', () => {
  const DECLARED: ReadonlySet<string> = new Set(['city']);
  beforeAll(async () => {
    await reconcileSearchAttributes(ds, ['city']);
    await ds.query('VACUUM ANALYZE profiles');
  });
  afterAll(() => reconcileSearchAttributes(ds, []));

  const eq = (value: string): SearchCondition => ({ field: { kind: 'attribute', name: 'city' }, op: 'eq', value });
  const status = (value: string): SearchCondition => ({ field: { kind: 'status' }, op: 'eq', value });
  const SORTS: SortKey[][] = [
    [{ field: { kind: 'updated_at' }, desc: true }],
    [{ field: { kind: 'updated_at' }, desc: false }],
    [{ field: { kind: 'created_at' }, desc: false }],
    [{ field: { kind: 'attribute', name: 'plan' }, desc: false }, { field: { kind: 'updated_at' }, desc: true }],
  ];
  const FILTERS: SearchCondition[][] = [
    [status('active'), eq('Boston')],
    [eq('Boston')],
    [status('closed'), eq('Boston')],
    [eq('5')],
    [status('active'), eq('true')],
    [eq('2.5')],
    [eq('null')],
    [eq('Nowhere')],
    [status('active'), eq('Lyon'), { field: { kind: 'attribute', name: 'plan' }, op: 'eq', value: 'pro' }],
    [eq(LONG)],
    [status('active'), eq(MIDDLE)],
  ];

  async function walk(conditions: SearchCondition[], sort: SortKey[], declared?: ReadonlySet<string>): Promise<{ ids: string[]; totals: number[] }> {
    const ids: string[] = [];
    const totals: number[] = [];
    let after: readonly string[] | null = null;
    for (;;) {
      const search: ProfileSearch = { scope: { tenant: 't', restrictions: null }, conditions, sort, limit: 9, offset: 0, after };
      const rows: Array<{ total: number; id: string | null; sort_key: string[] }> = await ds.query(searchSql(search, declared).text, searchSql(search, declared).values);
      totals.push(rows[0].total);
      const page = rows.filter((r) => r.id !== null);
      ids.push(...page.slice(0, 8).map((r) => r.id!));
      if (page.length <= 8) return { ids, totals };
      after = page[7].sort_key;
    }
  }

  const label = (cs: SearchCondition[] | SortKey[]) =>
    cs.map((c) => ('op' in c ? `${c.field.kind === 'attribute' ? c.field.name : c.field.kind}=${c.value.length > 20 ? `<${c.value.length} characters>` : c.value}` : `${c.field.kind === 'attribute' ? c.field.name : c.field.kind}${c.desc ? ' desc' : ''}`)).join(', ');
  it.each(FILTERS.flatMap((f) => SORTS.map((s) => [label(f), label(s), f, s] as const)))(
    'when listed with %s sorted by %s, then the cursor walk and totals equal those of the GIN path',
    async (_filter, _sort, conditions, sort) => {
      const declared = await walk(conditions, sort, DECLARED);
      const gin = await walk(conditions, sort);
      expect(declared).toEqual(gin);
    },
  );

  it('when the filters match, then the walks are not empty (the comparison above compares something)', async () => {
    expect((await walk([status('active'), eq('Boston')], SORTS[0], DECLARED)).ids.length).toBeGreaterThan(40);
    expect((await walk([eq('5')], SORTS[0], DECLARED)).totals[0]).toBeGreaterThan(40); // the number 5 and the text "5"
    expect((await walk([eq(LONG)], SORTS[0], DECLARED)).totals[0]).toBeGreaterThan(30);
    expect((await walk([eq(MIDDLE)], SORTS[0], DECLARED)).totals[0]).toBeGreaterThan(30);
  });

  it('when a profile is written with a value longer than an index entry may be, then the write succeeds and a listing finds it', async () => {
    const huge = noise('huge', 9000);
    await ds.query(
      `INSERT INTO profiles (tenant, id, attributes, created_at, created_record_id, updated_at) VALUES ('t', 'huge', $1, now(), 'r', now())`,
      [JSON.stringify({ city: huge })],
    );
    const found = await walk([eq(huge)], SORTS[0], DECLARED);
    expect(found).toEqual({ ids: ['huge'], totals: [1] });
    await ds.query(`DELETE FROM profiles WHERE id = 'huge'`);
  });

  it('when the statement is planned without heap scans, then the count reads the declared index alone', async () => {
    const search: ProfileSearch = { scope: { tenant: 't', restrictions: null }, conditions: [status('active'), eq('Boston')], sort: SORTS[0], limit: 61, offset: 0, after: null };
    const { text, values } = searchSql(search, DECLARED);
    const plan = await ds.transaction(async (m) => {
      await m.query('SET LOCAL enable_seqscan = off');
      await m.query('SET LOCAL enable_bitmapscan = off');
      const [row] = await m.query(`EXPLAIN (FORMAT JSON) ${text}`, values);
      return row['QUERY PLAN'][0].Plan as PlanNode;
    });
    const scans = nodes(plan).filter((n) => n['Index Name'] === 'profiles_search_attr_city').map((n) => n['Node Type']);
    expect(scans).toContain('Index Only Scan'); // the count
    // The page walks the index in updated_at order: no sort of the matches under its limit.
    const page = nodes(plan).find((n) => n['Node Type'] === 'Limit')!.Plans![0];
    expect([page['Node Type'], page['Index Name']]).toEqual(['Index Scan', 'profiles_search_attr_city']);
  });

  it('when another process drops the attribute after a repository read the declared set, then the repository still answers', async () => {
    const repo = new ProfileSearchRepository(ds);
    const search: ProfileSearch = { scope: { tenant: 't', restrictions: null }, conditions: [status('active'), eq('Boston')], sort: SORTS[0], limit: 10, offset: 0, after: null };
    const before = await repo.search(search);
    await reconcileSearchAttributes(ds, []);
    const after = await repo.search(search);
    expect(after.total).toBe(before.total);
    expect(after.rows.map((r) => r.id)).toEqual(before.rows.map((r) => r.id));
    await reconcileSearchAttributes(ds, ['city']);
  });
});
