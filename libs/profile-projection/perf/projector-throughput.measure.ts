// Not part of npm test (no spec suffix). Run (issue 12 profile):
//   PEOPLE=20000 RUNS=2 PARTS=1 npx jest --testMatch '**/perf/*.measure.ts' --maxWorkers=1 libs/profile-projection/perf
// Throughput of the projector alone on the bench's population (bench/population.ts), BATCH-record batches
// (default 2000, the worker's), PARTS partitions applied concurrently; wall time per SQL statement kind
// (EntityManager.query wrapped), CPU of the worker and of the database's backends (/proc: holds on a loaded
// machine, unlike wall time). EXPLAIN_AT=n adds the plans of the n-th load and write-back statements.
import { EntityManager } from 'typeorm';
import { generatePopulation } from '../../../bench/population';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, silentLogger } from '../../../test/support/projection-fixture';
import { partitionForKey } from '@tessera/event-log/partitioner';
import { ProfileProjector } from '../src/profile-projector.service';

jest.setTimeout(1_800_000);
let fx: ProjectionFixture;
const PARTS = Number(process.env.PARTS ?? 1);
beforeAll(async () => { fx = await createProjectionFixture(PARTS); });
afterAll(async () => { await fx.close(); });

const explainAt = process.env.EXPLAIN_AT ? Number(process.env.EXPLAIN_AT) : undefined;
const seen = new Map<string, number>();
const plans: string[] = [];
const sqlTime = new Map<string, { n: number; ms: number }>();
const original = EntityManager.prototype.query;
function label(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  if (s.startsWith('WITH p AS')) return 'save';
  if (s.includes('pg_advisory_xact_lock')) return 'lockIdentifiers';
  if (s.includes('FOR UPDATE OF p')) return 'loadProfiles(FOR UPDATE)';
  if (s.startsWith('SELECT i.tenant, i.type') || s.startsWith('SELECT i.* FROM json_to_recordset')) return 'loadIdentifiers';
  if (s.includes('consumer_offsets') && s.includes('FOR UPDATE')) return 'lockCheckpoint';
  return s.slice(0, 60);
}

/** CPU milliseconds (user+system) of every backend of the test database, from /proc. */
async function pgCpuMs(): Promise<number> {
  const rows: Array<{ pid: number }> = await fx.dataSource.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`);
  const { readFileSync } = await import('node:fs');
  let ticks = 0;
  for (const r of rows) {
    try {
      const f = readFileSync(`/proc/${r.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      /* gone */
    }
  }
  return ticks * 10;
}

it('measures', async () => {
  const people = Number(process.env.PEOPLE ?? 20000);
  const B = Number(process.env.BATCH ?? 2000);
  const runsN = Number(process.env.RUNS ?? 3);
  const pop = generatePopulation({ people, prefix: 'm', seed: 7, batchSize: 100 });
  const records = encodeUpserts(pop.items.map((i) => i.attributes));
  const N = records.length;
  (EntityManager.prototype as unknown as { query: unknown }).query = async function (this: EntityManager, sql: string, params?: unknown[]) {
    const t = performance.now();
    const k0 = label(sql);
    if (explainAt !== undefined && ['save', 'loadIdentifiers', 'loadProfiles(FOR UPDATE)'].includes(k0) && (seen.set(k0, (seen.get(k0) ?? 0) + 1).get(k0) === explainAt)) {
      const plan = (await original.call(this, 'EXPLAIN (ANALYZE, BUFFERS) ' + sql, params)) as Array<Record<string, string>>;
      plans.push(`--- ${k0}\n` + plan.map((r) => Object.values(r)[0]).join('\n'));
      if (k0 === 'save') return [];
    }
    try {
      return await original.call(this, sql, params);
    } finally {
      const k = label(sql);
      const e = sqlTime.get(k) ?? { n: 0, ms: 0 };
      e.n++;
      e.ms += performance.now() - t;
      sqlTime.set(k, e);
    }
  };
  const lines: string[] = [];
  // PG_SETTINGS="random_page_cost=1.1,…": server settings for this measure (ALTER SYSTEM + reload).
  for (const setting of (process.env.PG_SETTINGS ?? '').split(',').filter(Boolean)) {
    const [name, value] = setting.split('=');
    await fx.dataSource.query(`ALTER SYSTEM SET ${name} = '${value}'`);
  }
  await fx.dataSource.query(`SELECT pg_reload_conf()`);
  // GIN="fastupdate=on|fastupdate=off|gin_pending_list_limit=256": the search GIN's storage settings, alternating run by run.
  const ginModes = (process.env.GIN ?? '').split('|').filter(Boolean);
  for (let run = 0; run < runsN; run++) {
    await fx.dataSource.query(`TRUNCATE profiles, identifiers, identity_warnings, profile_events, consumer_offsets`);
    await fx.dataSource.query(`VACUUM ANALYZE profiles`);
    await fx.dataSource.query(`VACUUM ANALYZE identifiers`);
    sqlTime.clear();
    // RESIDENT="0,1": the replay's graph kept in memory, alternating run by run (each run starts from empty).
    const modes = (process.env.RESIDENT ?? '0').split(',');
    const residentGraph = modes[run % modes.length] === '1';
    const gin = ginModes.length ? ginModes[run % ginModes.length] : undefined;
    if (gin) await fx.dataSource.query(`ALTER INDEX profiles_search_attributes RESET (fastupdate, gin_pending_list_limit); ALTER INDEX profiles_search_attributes SET (${gin})`);
    const batchMs: number[] = [];
    const projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger, `g${run}`, { residentGraph });
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const pg0 = await pgCpuMs();
    // PARTS > 1: records split by the log's partitioner, the partitions applied concurrently (as the transport does).
    const byPart = Array.from({ length: PARTS }, (_, p) => records.filter((r) => partitionForKey(r.key, PARTS) === p));
    await Promise.all(
      byPart.map(async (recs, p) => {
        for (let i = 0; i < recs.length; i += B) {
          const b0 = performance.now();
          await projector.handleBatch(batchOf(p, recs.slice(i, i + B), i));
          batchMs.push(performance.now() - b0);
        }
      }),
    );
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const pgMs = (await pgCpuMs()) - pg0;
    const counts = await fx.dataSource.query(`SELECT (SELECT count(*) FROM profiles) p, (SELECT count(*) FROM profiles WHERE merged_into IS NULL) live, (SELECT md5(string_agg(type || value || profile_id, ',' ORDER BY type, value)) FROM identifiers) graph, (SELECT count(*) FROM identifiers) i, (SELECT count(*) FROM identity_warnings) w`);
    batchMs.sort((a, b) => a - b);
    const q = (f: number) => Math.round(batchMs[Math.min(batchMs.length - 1, Math.floor(f * batchMs.length))]!);
    lines.push(`   batches ${batchMs.length}: p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms${gin ? ` (GIN ${gin})` : ''}`);
    lines.push(`run ${run}${residentGraph ? ' (resident graph)' : ''}: ${N} records in ${Math.round(wall)} ms = ${Math.round(N / (wall / 1000))} records/s; node CPU ${Math.round((c.user + c.system) / 1000)} ms, PG backends CPU ${pgMs} ms = ${Math.round(((c.user + c.system) / 1000 + pgMs) * 1000 / N)} µs/record; state ${JSON.stringify(counts[0])}`);
    for (const [k, v] of [...sqlTime].sort((a, b) => b[1].ms - a[1].ms)) lines.push(`   ${k.padEnd(40)} n=${v.n} ${Math.round(v.ms)} ms`);
  }
  (EntityManager.prototype as unknown as { query: unknown }).query = original;
  // eslint-disable-next-line no-console
  console.log(lines.join('\n') + '\n' + plans.join('\n'));
});
