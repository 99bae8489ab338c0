/**
 * The search phase of `npm run bench` (issue 11): the native API's listing over the projected
 * population, once the projection is complete —
 *   GET /api/v1/profiles?filter[status]=active&filter[city]=<city>&sort=updated_at:desc&limit=60
 * with the city most profiles have (the largest match set: the slowest city). A closed loop gives the
 * maximum rate; an open loop at half that rate gives p50/p99 (latency from the time each request was
 * due). The answer's `total` is checked against a SQL count of the same profiles. The server declares
 * `city` a search attribute (bench/main.ts): the result says which attributes were declared.
 */
import type { Client } from 'pg';
import { declaredSearchAttributes } from '../libs/store/src/profile-search/search-attributes';
import { runLoad, type LoadResult, type LoadSpec } from './load';

export interface SearchPhaseOptions {
  baseUrl: string;
  /** A read or private key of the tenant. */
  key: string;
  db: Client;
  concurrency: number;
  seconds: number;
  /** The open loop's warm-up at its rate, left out of its figures (LoadSpec.warmupMs). */
  warmupMs: number;
  /** Records CPU and database counters per phase (main.ts's PhaseRecorder.run). */
  phase<T>(name: string, work: () => Promise<T>): Promise<T>;
  summarize(result: LoadResult, warmupShare?: number): { itemsPerSec: number; p50Ms: number; p99Ms: number; maxMs: number; failed: number; statusCounts: Record<string, number> } & Record<string, unknown>;
  log(line: string): void;
}

export interface SearchPhaseResult {
  maxPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** The slowest answer at half the max rate. */
  maxMs: number;
  /** Live profiles of the tenant searched. */
  profiles: number;
  city: string;
  /** The listing's `total`, and the same count in SQL. */
  total: number;
  sqlTotal: number;
  totalExact: boolean;
  fixedRatePerSec: number;
  /** The declared search attributes of the server (TESSERA_SEARCH_ATTRIBUTES): the page's path. */
  declaredAttributes: string[];
  p99AtMaxMs: number;
  maxRun: Record<string, unknown>;
  fixedRun: Record<string, unknown>;
}

/** The tenant with most live profiles, its profile count and its most common city. */
async function largestCity(db: Client): Promise<{ tenant: string; profiles: number; city: string }> {
  const { rows } = await db.query<{ tenant: string; profiles: string; city: string }>(
    `WITH t AS (SELECT tenant, count(*) AS profiles FROM profiles WHERE merged_into IS NULL GROUP BY tenant ORDER BY 2 DESC LIMIT 1)
     SELECT t.tenant, t.profiles, (SELECT p.attributes->>'city' FROM profiles p
                                    WHERE p.tenant = t.tenant AND p.merged_into IS NULL AND p.attributes ? 'city'
                                    GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1) AS city
       FROM t`,
  );
  if (!rows[0]?.city) throw new Error('search phase: no profile has a city');
  return { tenant: rows[0].tenant, profiles: Number(rows[0].profiles), city: rows[0].city };
}

/** The server's declared search attributes, as its listing reads them (search-attributes.ts). */
function declaredAttributes(db: Client): Promise<string[]> {
  return declaredSearchAttributes({ query: async (sql: string, params?: unknown[]) => (await db.query(sql, params)).rows });
}

async function sqlTotal(db: Client, tenant: string, city: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM profiles
      WHERE tenant = $1 AND merged_into IS NULL AND attributes->>'city' = $2 AND COALESCE(attributes->>'$status', 'active') = 'active'`,
    [tenant, city],
  );
  return Number(rows[0].n);
}

export async function runSearchPhase(o: SearchPhaseOptions): Promise<SearchPhaseResult> {
  const { tenant, profiles, city } = await largestCity(o.db);
  const path = `/api/v1/profiles?filter[status]=active&filter[city]=${encodeURIComponent(city)}&sort=updated_at:desc&limit=60`;
  const probe = await fetch(`${o.baseUrl}${path}`, { headers: { 'x-api-key': o.key } });
  const body = (await probe.json().catch(() => undefined)) as { total?: number; profiles?: unknown[] } | undefined;
  if (probe.status !== 200 || typeof body?.total !== 'number') throw new Error(`search phase: ${probe.status} ${JSON.stringify(body).slice(0, 300)}`);
  const expected = await sqlTotal(o.db, tenant, city);
  const declared = await declaredAttributes(o.db);
  o.log(`search: declared search attributes: ${declared.join(', ') || 'none (the GIN on attributes)'}`);
  o.log(`search: ${city} — total ${body.total} (SQL ${expected}${body.total === expected ? ', exact' : ', MISMATCH'}) of ${profiles} profiles; page ${body.profiles?.length}`);

  const spec: LoadSpec = { baseUrl: o.baseUrl, headers: { 'x-api-key': o.key }, mode: 'closed', concurrency: o.concurrency, expectStatus: 200, requests: { method: 'GET', paths: path } };
  await runLoad({ ...spec, durationMs: 2000, cycle: true, minRequests: 0 }); // warm-up
  const max = o.summarize(await o.phase('search-max', () => runLoad({ ...spec, durationMs: o.seconds * 1000, cycle: true, minRequests: 0 })));
  o.log(`search max: ${Math.round(max.itemsPerSec)} req/s at ${o.concurrency} connections (p50 ${max.p50Ms} ms, p99 ${max.p99Ms} ms; non-200: ${max.failed})`);
  const rate = Math.max(1, max.itemsPerSec / 2);
  const fixed = o.summarize(await o.phase('search-fixed', () => runLoad({ ...spec, mode: 'open', rate, durationMs: o.seconds * 1000, warmupMs: o.warmupMs })), 0);
  o.log(`search at ${Math.round(rate)} req/s: p50 ${fixed.p50Ms} ms, p99 ${fixed.p99Ms} ms (non-200: ${fixed.failed})`);
  return {
    maxPerSec: max.itemsPerSec,
    p50Ms: fixed.p50Ms,
    p99Ms: fixed.p99Ms,
    maxMs: fixed.maxMs,
    profiles,
    city,
    total: body.total,
    sqlTotal: expected,
    totalExact: body.total === expected,
    fixedRatePerSec: Math.round(rate * 10) / 10,
    declaredAttributes: declared,
    p99AtMaxMs: max.p99Ms,
    maxRun: max,
    fixedRun: fixed,
  };
}
