/* eslint-disable no-console */
// Not part of npm test: the native API's listing statements on a kept data dir (see search-load.ts build),
// straight through pg — PostgreSQL CPU per statement (the backend's /proc utime+stime plus the exited
// parallel workers': holds on a shared machine, wall time does not) for statement variants alternated
// round by round, and their plans. Run from dist/ (node scripts/build.js first):
//   node dist/libs/profile-projection/perf/search-sql.js <dataDir> [rounds=4] [perRound=20] [variant…]
// SHAPES=bench,cityCreated,… adds listing shapes built by this build (`:new`) and, with BASE_SQL=<another
// build's dist/libs/store/src/profile-search/profile-search.sql.js>, by that one (`:old`); each prints its
// total and a digest of the page's ids (same answer). EXPLAIN=1 prints EXPLAIN (ANALYZE, BUFFERS) once;
// SETUP='sql;…' runs first (VACUUM ANALYZE, scratch indexes); PERF_WAIT=ms prints the backend pid and
// waits (perf record -p); SERIAL=1 adds each shape without parallel workers (`:serial`). Issue-12 findings: /work/notes/readme12-search.md.
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '@tessera/store/database/embedded-postgres.server';
import { CONTACTS_SQL, PRIMARY_CANDIDATES_SQL, searchSql } from '@tessera/store/profile-search/profile-search.sql';
import type { ProfileSearch } from '@tessera/store/profile-search/profile-search.types';

const TICK_MS = 10; // USER_HZ = 100

function backendCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** CPU of the postmaster's exited children (parallel workers exit after each statement). */
function childrenCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) * TICK_MS;
}

/** A short digest of the page's ids in order (same page, same order across variants). */
function hashIds(rows: Array<Record<string, unknown>>): string {
  const ids = rows.map((r) => String(r.id ?? '')).join(',');
  let h = 0;
  for (let i = 0; i < ids.length; i++) h = (Math.imul(h, 31) + ids.charCodeAt(i)) | 0;
  return `${rows.length}:${(h >>> 0).toString(16)}`;
}

function benchSearch(tenant: string, city: string): ProfileSearch {
  return {
    scope: { tenant, restrictions: null },
    conditions: [
      { field: { kind: 'status' }, op: 'eq', value: 'active' },
      { field: { kind: 'attribute', name: 'city' }, op: 'eq', value: city },
    ],
    sort: [{ field: { kind: 'updated_at' }, desc: true }],
    limit: 61,
    offset: 0,
    after: null,
  };
}

type Builder = typeof searchSql;
// BASE_SQL: another build's profile-search.sql.js (e.g. a copy of dist/ before a change), for A/B.
const baseSql: Builder | undefined = process.env.BASE_SQL ? (require(process.env.BASE_SQL) as { searchSql: Builder }).searchSql : undefined;

/** Listing shapes (filter[status]=active unless said), each built by this build (new) and BASE_SQL (old). */
function shape(name: string, tenant: string, city: string): ProfileSearch {
  const active = { field: { kind: 'status' as const }, op: 'eq' as const, value: 'active' };
  const eq = (n: string, value: string) => ({ field: { kind: 'attribute' as const, name: n }, op: 'eq' as const, value });
  const created = [{ field: { kind: 'created_at' as const }, desc: false }];
  const base = { ...benchSearch(tenant, city), sort: created };
  switch (name) {
    case 'cityCreated': return { ...base, conditions: [active, eq('city', city)] };
    case 'activeCreated': return { ...base, conditions: [active] };
    case 'planCreated': return { ...base, conditions: [active, eq('plan', 'enterprise')] };
    case 'tagCreated': return { ...base, conditions: [active, { field: { kind: 'tag' }, op: 'eq', value: 'vip_event' }] };
    case 'visitsCreated': return { ...base, conditions: [active, eq('visits', '3')] };
    case 'cityId': return { ...base, conditions: [active, eq('city', city)], sort: [{ field: { kind: 'id' }, desc: true }] };
    case 'cityCreatedOffset': return { ...base, conditions: [active, eq('city', city)], offset: 600 };
    case 'bench': return benchSearch(tenant, city);
  }
  throw new Error(`no shape ${name}`);
}

type Variant = (tenant: string, city: string) => { text: string; values: unknown[]; setup?: string[] };

const PARALLEL = (process.env.PARALLEL ?? 'max_parallel_workers_per_gather=1,parallel_setup_cost=0,parallel_tuple_cost=0,min_parallel_table_scan_size=0,min_parallel_index_scan_size=0')
  .split(',').map((kv) => `SET ${kv}`);
const WHERE = `p.tenant = $1 AND p.merged_into IS NULL AND COALESCE(p.attributes->>'$status', 'active') = 'active' AND p.attributes @> $2::jsonb`;

const VARIANTS: Record<string, Variant> = {
  current: (tenant, city) => searchSql(benchSearch(tenant, city)),
  currentParallel: (tenant, city) => ({ ...searchSql(benchSearch(tenant, city)), setup: PARALLEL }),
  countOnlyParallel: (tenant, city) => ({ ...VARIANTS.countOnly(tenant, city), setup: PARALLEL }),
  topOnly: (tenant, city) => ({
    text: `SELECT p.id, p.updated_at FROM profiles p WHERE ${WHERE} ORDER BY p.updated_at DESC, p.id DESC LIMIT 61`,
    values: [tenant, JSON.stringify({ city })],
  }),
  topOnlyParallel: (tenant, city) => ({ ...VARIANTS.topOnly(tenant, city), setup: PARALLEL }),
  window: (tenant, city) => ({
    text: `SELECT p.id, p.updated_at, count(*) OVER () FROM profiles p WHERE ${WHERE} ORDER BY p.updated_at DESC, p.id DESC LIMIT 61`,
    values: [tenant, JSON.stringify({ city })],
  }),
  countEio0: (tenant, city) => ({ ...VARIANTS.countOnly(tenant, city), setup: ['SET effective_io_concurrency = 0'] }),
  currentEio0: (tenant, city) => ({ ...VARIANTS.current(tenant, city), setup: ['SET effective_io_concurrency = 0'] }),
  noDupId: (tenant, city) => {
    const q = searchSql(benchSearch(tenant, city));
    return { ...q, text: q.text.replace(', p.id AS k1 FROM', ' FROM').replace(/\bm\.k1\b/g, 'm.id').replace(/\bs\.k1\b/g, 's.id') };
  },
  // The page's extras left out: contacts and customers' primaries (the 61 rows are still read).
  noContactsPrimaries: (tenant, city) => {
    const q = searchSql(benchSearch(tenant, city));
    return { ...q, text: q.text.replace(CONTACTS_SQL, 'NULL::jsonb').replace(PRIMARY_CANDIDATES_SQL, 'NULL::jsonb') };
  },
  // The matches materialized, counted and top-N'd, no page rows read.
  mCountTop: (tenant, city) => ({
    text: `WITH m AS MATERIALIZED (SELECT p.id, p.updated_at AS k0, p.id AS k1 FROM profiles p WHERE ${WHERE})
      SELECT (SELECT count(*) FROM m) AS total, s.* FROM (SELECT m.* FROM m ORDER BY m.k0 DESC, m.k1 DESC LIMIT 61) s`,
    values: [tenant, JSON.stringify({ city })],
  }),
  // With SETUP's scratch index on (tenant, city, status, updated_at, id): count and top-N from it alone.
  cityIndex: (tenant, city) => ({
    text: `WITH m AS (SELECT p.id, p.updated_at FROM profiles p WHERE p.tenant = $1 AND p.merged_into IS NULL AND (p.attributes->>'city') = $2 AND COALESCE(p.attributes->>'$status', 'active') = 'active')
      SELECT (SELECT count(*) FROM m) AS total, s.* FROM (SELECT * FROM m ORDER BY m.updated_at DESC, m.id DESC LIMIT 61) s`,
    values: [tenant, city],
  }),
  // filter[status]=active&sort=created_at: every live profile of the tenant matches.
  activeByCreated: (tenant) => searchSql({ ...benchSearch(tenant, ''), conditions: [{ field: { kind: 'status' }, op: 'eq', value: 'active' }], sort: [{ field: { kind: 'created_at' }, desc: false }] }),
  activeByCreatedSplit: (tenant) => {
    const q = searchSql({ ...benchSearch(tenant, ''), conditions: [], sort: [{ field: { kind: 'created_at' }, desc: false }] });
    const status = `COALESCE(p.attributes->>'$status', 'active') = 'active'`;
    return { ...q, text: q.text.replace(/p\.merged_into IS NULL/g, `p.merged_into IS NULL AND ${status}`) };
  },
  // The bench's listing as if an index held updated_at (with SETUP's scratch index on (tenant, updated_at, id)):
  // the created_at-ordered split with updated_at in its place (no cursor).
  benchSplit: (tenant, city) => {
    const q = searchSql({ ...benchSearch(tenant, city), sort: [{ field: { kind: 'created_at' }, desc: true }] });
    return { ...q, text: q.text.replace('p.created_at AS k0', 'p.updated_at AS k0').replace('ORDER BY p.created_at DESC', 'ORDER BY p.updated_at DESC') };
  },
  countSeq: (tenant, city) => ({ ...VARIANTS.countOnly(tenant, city), setup: ['SET enable_bitmapscan = off', 'SET enable_indexscan = off'] }),
  // The match scan alone: how much of the statement is the bitmap heap scan + recheck + filter.
  countOnly: (tenant, city) => ({
    text: `SELECT count(*) FROM profiles p WHERE p.tenant = $1 AND p.merged_into IS NULL AND COALESCE(p.attributes->>'$status', 'active') = 'active' AND p.attributes @> $2::jsonb`,
    values: [tenant, JSON.stringify({ city })],
  }),
  countCityOnly: (tenant, city) => ({
    text: `SELECT count(*) FROM profiles p WHERE p.tenant = $1 AND p.merged_into IS NULL AND p.attributes @> $2::jsonb`,
    values: [tenant, JSON.stringify({ city })],
  }),
  countNoAttr: (tenant, city) => ({
    text: `SELECT count(p.updated_at) FROM profiles p WHERE p.tenant = $1 AND p.merged_into IS NULL AND p.id IN (SELECT id FROM profiles q WHERE q.tenant = $1 AND q.merged_into IS NULL AND q.attributes @> $2::jsonb)`,
    values: [tenant, JSON.stringify({ city })],
  }),
};

async function main(): Promise<void> {
  const [dataDir, roundsArg, perArg, ...names] = process.argv.slice(2);
  const rounds = Number(roundsArg ?? 4);
  const per = Number(perArg ?? 20);
  const pg = await startEmbeddedPostgres({ dataDir, onLog: () => undefined });
  const postmaster = Number(readFileSync(`${pg.pgDir ?? `${dataDir}/pg`}/postmaster.pid`, 'utf8').split('\n')[0]);
  const db = new Client({ connectionString: pg.url.replace(/\/postgres$/, '/tessera') });
  await db.connect();
  try {
    const { rows: [target] } = await db.query<{ tenant: string; city: string; n: string }>(
      `SELECT tenant, attributes->>'city' AS city, count(*) AS n FROM profiles WHERE merged_into IS NULL AND attributes ? 'city' GROUP BY 1, 2 ORDER BY 3 DESC, 2 LIMIT 1`,
    );
    const { rows: [pid] } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    console.log(`tenant ${target.tenant}, city ${target.city} (${target.n} live profiles with it)`);
    for (const sql of (process.env.SETUP ?? '').split(';').filter((s) => s.trim())) console.log(sql, JSON.stringify((await db.query(sql)).rows).slice(0, 400));
    for (const n of (process.env.SHAPES ?? '').split(',').filter(Boolean)) {
      VARIANTS[`${n}:new`] = (t, c) => searchSql(shape(n, t, c));
      if (process.env.SERIAL) VARIANTS[`${n}:serial`] = (t, c) => ({ ...searchSql(shape(n, t, c)), setup: ['SET max_parallel_workers_per_gather = 0'] });
      if (baseSql) VARIANTS[`${n}:old`] = (t, c) => baseSql(shape(n, t, c));
    }
    const chosen = names.length ? names : Object.keys(VARIANTS).filter((k) => !process.env.SHAPES || k.includes(':'));
    const stats = new Map<string, number[]>();
    for (const name of chosen) {
      const v = VARIANTS[name](target.tenant, target.city);
      await db.query('RESET ALL');
      for (const s of v.setup ?? []) await db.query(s);
      const { rows } = await db.query(v.text, v.values);
      console.log(`${name}: ${rows.length} rows; total ${rows[0]?.total ?? rows[0]?.count}; ids ${hashIds(rows)}`);
      if (process.env.EXPLAIN) {
        const plan = await db.query('EXPLAIN (ANALYZE, BUFFERS) ' + v.text, v.values);
        console.log(plan.rows.map((r) => r['QUERY PLAN']).join('\n'));
      }
    }
    if (process.env.PERF_WAIT) {
      console.log(`backend pid ${pid.pid}: waiting ${process.env.PERF_WAIT} ms`);
      await new Promise((r) => setTimeout(r, Number(process.env.PERF_WAIT)));
    }
    for (let r = 0; r < rounds; r++) {
      for (const name of chosen) {
        const v = VARIANTS[name](target.tenant, target.city);
        await db.query('RESET ALL');
        for (const s of v.setup ?? []) await db.query(s);
        await db.query(v.text, v.values);
        const c0 = backendCpuMs(pid.pid) + childrenCpuMs(postmaster);
        const t0 = performance.now();
        for (let i = 0; i < per; i++) await db.query(v.text, v.values);
        const cpu = (backendCpuMs(pid.pid) + childrenCpuMs(postmaster) - c0) / per;
        const wall = (performance.now() - t0) / per;
        stats.set(name, [...(stats.get(name) ?? []), cpu]);
        console.log(`round ${r} ${name}: ${cpu.toFixed(1)} ms CPU, ${wall.toFixed(1)} ms wall per statement`);
      }
    }
    for (const [name, cpus] of stats) {
      const sorted = [...cpus].sort((a, b) => a - b);
      console.log(`${name}: median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms CPU per statement (rounds ${cpus.map((c) => c.toFixed(1)).join(', ')})`);
    }
  } finally {
    await db.end();
    await pg.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
