// Not part of npm test (no spec suffix). Run (issue 12 profile):
//   PEOPLE=20000 RUNS=2 PARTS=1 npx jest --testMatch '**/perf/*.measure.ts' --maxWorkers=1 libs/profile-projection/perf
// Throughput of the projector alone on the bench's population (bench/population.ts), BATCH-record batches
// (default 2000, the worker's), PARTS partitions applied concurrently; wall time per SQL statement kind
// (EntityManager.query wrapped), CPU of the worker and of the database's backends (/proc: holds on a loaded
// machine, unlike wall time). EXPLAIN_AT=n adds the plans of the n-th load and write-back statements.
// Per statement kind also the CPU of its backend (/proc/<pid>/schedstat, ns) and the WAL it wrote; per run the
// whole server's CPU (postmaster + children, exited ones included: WAL writer, autovacuum) and pg_stat_wal.
// A/B of two builds on one server: projector-ab.measure.ts (BUILDS=a/dist,b/dist). Issue 12's repository variants,
// measured that way before they were dropped: no FOR UPDATE (no gain: 0.46 lock WAL records, 25 B per record),
// json_to_recordset (slower), one index probe per key in the loads (no gain at 20,000/60,000 people), the
// record-derived profile ids as one ScalarArrayOp scan (no CPU gain); the plain INSERT of rows the load did not
// find was the main win, and a replay told which rows are stored saves ≈ 20 % of the save's CPU.
import { EntityManager } from 'typeorm';
import { generatePopulation } from '../../../bench/population';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, silentLogger } from '../../../test/support/projection-fixture';
import { partitionForKey } from '@tessera/event-log/partitioner';
import { ProfileProjector } from '../src/profile-projector.service';
import { readFileSync, readdirSync } from 'node:fs';
import { ceilingDb } from '../../../bench/pg-direct';
import { backendCpuMs } from './backend-cpu';

jest.setTimeout(1_800_000);
let fx: ProjectionFixture;
const PARTS = Number(process.env.PARTS ?? 1);
beforeAll(async () => { fx = await createProjectionFixture(PARTS); });
afterAll(async () => { await fx.close(); });

const explainAt = process.env.EXPLAIN_AT ? Number(process.env.EXPLAIN_AT) : undefined;
const seen = new Map<string, number>();
const plans: string[] = [];
const sqlTime = new Map<string, { n: number; ms: number; cpuNs: number; wal: number }>();
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

/** Nanoseconds a process has run on a CPU (/proc/<pid>/schedstat), 0 when gone. */
function cpuNs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return 0;
  }
}

/** CPU ms of the whole server: the postmaster, its live children and (cutime/cstime) every child that exited. */
function serverCpuMs(postmaster: number): number {
  const stat = (pid: number | string) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const own = stat(postmaster);
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const f = stat(pid);
      if (Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      /* gone */
    }
  }
  return ticks * 10;
}

async function walStats(): Promise<{ bytes: number; records: number; fpi: number }> {
  const [w] = await fx.dataSource.query(`SELECT wal_bytes::bigint AS bytes, wal_records AS records, wal_fpi AS fpi FROM pg_stat_wal`);
  return { bytes: Number(w.bytes), records: Number(w.records), fpi: Number(w.fpi) };
}

const pgCpuMs = (): Promise<number> => backendCpuMs(fx.dataSource);

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
      // Explained in a savepoint rolled back, then run for real: the run's state stays what it would be.
      await original.call(this, 'SAVEPOINT explain');
      const plan = (await original.call(this, 'EXPLAIN (ANALYZE, BUFFERS) ' + sql, params)) as Array<Record<string, string>>;
      await original.call(this, 'ROLLBACK TO SAVEPOINT explain');
      plans.push(`--- ${k0}\n` + plan.map((r) => Object.values(r)[0]).join('\n'));
    }
    // The backend this manager's transaction runs on: its CPU and the WAL inserted around the statement.
    const pid = (this.queryRunner as unknown as { databaseConnection?: { processID?: number } } | undefined)?.databaseConnection?.processID;
    const lsn = async () => (pid && PARTS === 1 ? ((await original.call(this, `SELECT pg_current_wal_insert_lsn()::text AS l`)) as Array<{ l: string }>)[0].l : undefined);
    const l0 = await lsn();
    const n0 = cpuNs(pid);
    let failed = false;
    try {
      return await original.call(this, sql, params);
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      const n1 = cpuNs(pid);
      const l1 = failed ? undefined : await lsn();
      const k = label(sql);
      const e = sqlTime.get(k) ?? { n: 0, ms: 0, cpuNs: 0, wal: 0 };
      e.n++;
      e.ms += performance.now() - t;
      e.cpuNs += n1 - n0;
      if (l0 && l1) e.wal += Number(((await original.call(this, `SELECT pg_wal_lsn_diff($1, $2)::bigint AS d`, [l1, l0])) as Array<{ d: string }>)[0].d);
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
  const [{ pid: anyBackend }] = await fx.dataSource.query(`SELECT pg_backend_pid() AS pid`);
  const postmaster = Number(readFileSync(`/proc/${anyBackend}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  const summary = new Map<string, Array<{ pgUs: number; serverUs: number; nodeUs: number; walB: number; perSec: number }>>();
  for (let run = 0; run < runsN + (process.env.WARMUP ? 1 : 0); run++) {
    await fx.dataSource.query(`TRUNCATE profiles, identifiers, identity_warnings, profile_events, consumer_offsets`);
    await fx.dataSource.query(`VACUUM ANALYZE profiles`);
    await fx.dataSource.query(`VACUUM ANALYZE identifiers`);
    sqlTime.clear();
    // RESIDENT="0,1": the replay's graph kept in memory, alternating run by run (each run starts from empty).
    const modes = (process.env.RESIDENT ?? '0').split(',');
    const residentGraph = modes[run % modes.length] === '1';
    const gin = ginModes.length ? ginModes[run % ginModes.length] : undefined;
    // WARMUP=1: a first run not summarised (the first run of a process warms up).
    if (gin) await fx.dataSource.query(`ALTER INDEX profiles_search_attributes RESET (fastupdate, gin_pending_list_limit); ALTER INDEX profiles_search_attributes SET (${gin})`);
    const batchMs: number[] = [];
    const projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger, `g${run}`, { residentGraph });
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const pg0 = await pgCpuMs();
    const server0 = serverCpuMs(postmaster);
    const wal0 = await walStats();
    const [{ lsn: lsn0 }] = await fx.dataSource.query(`SELECT pg_current_wal_insert_lsn()::text AS lsn`);
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
    const serverMs = serverCpuMs(postmaster) - server0;
    const wal1 = await walStats();
    const [{ lsn: lsn1 }] = await fx.dataSource.query(`SELECT pg_current_wal_insert_lsn()::text AS lsn`);
    const counts = await fx.dataSource.query(`SELECT (SELECT count(*) FROM profiles) p, (SELECT count(*) FROM profiles WHERE merged_into IS NULL) live, (SELECT md5(string_agg(type || value || profile_id, ',' ORDER BY type, value)) FROM identifiers) graph, (SELECT count(*) FROM identifiers) i, (SELECT count(*) FROM identity_warnings) w,
      (SELECT md5(string_agg(concat_ws('|', tenant, id, attributes::text, attribute_versions::text, created_at, created_record_id, updated_at, merged_into, version), ',' ORDER BY tenant, id)) FROM profiles) AS profiles_md5,
      (SELECT md5(string_agg(concat_ws('|', tenant, type, value, profile_id, confidence, first_seen, last_seen), ',' ORDER BY tenant, type, value)) FROM identifiers) AS identifiers_md5`);
    batchMs.sort((a, b) => a - b);
    const q = (f: number) => Math.round(batchMs[Math.min(batchMs.length - 1, Math.floor(f * batchMs.length))]!);
    lines.push(`   batches ${batchMs.length}: p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms${gin ? ` (GIN ${gin})` : ''}`);
    const nodeMs = (c.user + c.system) / 1000;
    const per = (x: number) => Math.round((x * 1000) / N);
    lines.push(`run ${run}${residentGraph ? ' (resident graph)' : ''}: ${N} records in ${Math.round(wall)} ms = ${Math.round(N / (wall / 1000))} records/s; node CPU ${Math.round(nodeMs)} ms, PG backends CPU ${pgMs} ms = ${Math.round(((c.user + c.system) / 1000 + pgMs) * 1000 / N)} µs/record; state ${JSON.stringify(counts[0])}`);
    // WAL bytes from the insert position (exact); records and FPIs from pg_stat_wal (flushed lazily: approximate).
    const [{ d: walBytes }] = await fx.dataSource.query(`SELECT pg_wal_lsn_diff($1, $2)::bigint AS d`, [lsn1, lsn0]);
    lines.push(`   per record: PG backends ${per(pgMs)} µs, PG server (all processes) ${per(serverMs)} µs, node ${per(nodeMs)} µs; WAL ${Math.round(Number(walBytes) / N)} B, ≈${((wal1.records - wal0.records) / N).toFixed(2)} records, ≈${((wal1.fpi - wal0.fpi) / N).toFixed(3)} FPI`);
    const key = residentGraph ? 'resident' : 'per-batch loads';
    if (!(process.env.WARMUP && run === 0)) summary.set(key, [...(summary.get(key) ?? []), { pgUs: per(pgMs), serverUs: per(serverMs), nodeUs: per(nodeMs), walB: Math.round(Number(walBytes) / N), perSec: Math.round(N / (wall / 1000)) }]);
    if (process.env.ROW_STATS) {
      const [r] = await fx.dataSource.query(
        `SELECT round(avg(pg_column_size(p.*))) AS row, round(avg(pg_column_size(attributes))) AS attrs, round(avg(pg_column_size(attribute_versions))) AS versions,
                pg_relation_size((SELECT reltoastrelid FROM pg_class WHERE oid = 'profiles'::regclass)) AS toast,
                (SELECT round(avg(pg_column_size(i.*))) FROM identifiers i) AS identifier_row,
                (SELECT json_object_agg(indexrelname, pg_relation_size(indexrelid)) FROM pg_stat_user_indexes WHERE relname IN ('profiles', 'identifiers')) AS indexes
           FROM profiles p`,
      );
      lines.push(`   rows: ${JSON.stringify(r)}`);
    }
    if (process.env.WAL_STATS) {
      // WAL_STATS=1: what the run's WAL is made of, by record type (pg_walinspect).
      await fx.dataSource.query(`CREATE EXTENSION IF NOT EXISTS pg_walinspect`);
      const kinds: Array<{ t: string; n: string; b: string; fpi: string }> = await fx.dataSource.query(
        `SELECT "resource_manager/record_type" AS t, count AS n, combined_size AS b, fpi_size AS fpi
           FROM pg_get_wal_stats($1::pg_lsn, $2::pg_lsn, true) WHERE count > 0 ORDER BY combined_size DESC LIMIT 14`,
        [lsn0, lsn1],
      );
      for (const k of kinds) lines.push(`   WAL ${k.t.padEnd(28)} ${(Number(k.n) / N).toFixed(2)}/record ${Math.round(Number(k.b) / N)} B/record (FPI ${Math.round(Number(k.fpi) / N)} B)`);
    }
    if (process.env.CEILING) {
      // CEILING=1: ceiling D on the same server right after the run (bench/pg-direct.ts), per row.
      const s0 = serverCpuMs(postmaster);
      const w0 = await walStats();
      const d = await ceilingDb(fx.db.url, pop.items.map((i) => ({ key: i.key, attributes: JSON.stringify(i.attributes) })), B);
      const w1 = await walStats();
      const perRow = (x: number) => Math.round((x * 1000) / d.rows);
      lines.push(`   ceiling D: ${d.rows} rows, ${Math.round(d.rowsPerSec)} rows/s; PG server ${perRow(serverCpuMs(postmaster) - s0)} µs/row, WAL ${Math.round((w1.bytes - w0.bytes) / d.rows)} B/row`);
    }
    for (const [k, v] of [...sqlTime].sort((a, b) => b[1].ms - a[1].ms)) {
      lines.push(`   ${k.padEnd(40)} n=${v.n} ${Math.round(v.ms)} ms, backend CPU ${Math.round(v.cpuNs / 1e6)} ms = ${Math.round(v.cpuNs / 1e3 / N)} µs/record, WAL ${Math.round(v.wal / N)} B/record`);
    }
  }
  (EntityManager.prototype as unknown as { query: unknown }).query = original;
  // Per mode: median over its runs (the first run of a process also warms up: use RUNS ≥ 4).
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  for (const [k, rs] of summary) {
    const m = (f: (r: (typeof rs)[number]) => number) => `${median(rs.map(f))} (${rs.map(f).join(' ')})`;
    lines.push(`== ${k}: PG backends µs/record ${m((r) => r.pgUs)}; server ${m((r) => r.serverUs)}; node ${m((r) => r.nodeUs)}; WAL B/record ${m((r) => r.walB)}; records/s ${m((r) => r.perSec)}`);
  }
  // Long literals (arrays in filters) cut: the plan shapes are what matters.
  // eslint-disable-next-line no-console
  console.log(lines.join('\n') + '\n' + plans.join('\n').replace(/[^\n]{400,}/g, (l) => l.slice(0, 300) + ' …'));
});
