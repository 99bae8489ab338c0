// Not part of npm test. A/B of projector builds in ONE process, alternating run by run (issue 12): node CPU and
// PostgreSQL backend CPU per record (from process.cpuUsage and /proc: they hold on a shared machine, wall time
// does not), on the bench population, one partition. Every run checks that each build wrote the same state.
//   node scripts/build.js   # each build: a dist/ root, e.g. a copy of the tree at the old commit, built
//   BUILDS=/tmp/a/dist,dist RUNS=4 RESIDENT=0,1 PEOPLE=20000 \
//     npx jest --testMatch '**/perf/*.measure.ts' --maxWorkers=1 libs/profile-projection/perf/projector-ab.measure.ts
// RESIDENT: the modes each run covers (1 = the replay's graph kept in memory). PROFILE=1 adds one profiled run
// per build and mode with self time by function (TOP rows, default 35). BATCH: records per batch (2000).
// PREPARE=1 hands each next batch to projector.prepare while the one before is handled, as the Postgres log's
// read-ahead does (NO_VERSION=1 when the builds cut a batch's save into different statements).
import { Session } from 'node:inspector/promises';
import { resolve } from 'node:path';
import { generatePopulation } from '../../../bench/population';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, silentLogger } from '../../../test/support/projection-fixture';
import { selfTimes } from '../../profile-ingest/perf/cpu-profile.summary';
import { backendCpuMs } from './backend-cpu';

jest.setTimeout(3_600_000);
let fx: ProjectionFixture;
beforeAll(async () => { fx = await createProjectionFixture(1); });
afterAll(async () => { await fx.close(); });

interface Build {
  root: string;
  Projector: new (...args: unknown[]) => { handleBatch(b: unknown): Promise<void> };
  results: Map<string, Array<{ nodeUs: number; pgUs: number; perSec: number }>>;
}

function load(root: string): Build {
  const mod = require(resolve(root, 'libs/profile-projection/src/profile-projector.service.js'));
  return { root, Projector: mod.ProfileProjector, results: new Map() };
}

const pgCpuMs = (): Promise<number> => backendCpuMs(fx.dataSource);

/**
 * The projection as one digest: every column the projector writes. NO_VERSION=1 leaves out `version`, a
 * write counter: it differs between builds that split a batch's save into different statements.
 */
async function stateDigest(): Promise<string> {
  const version = process.env.NO_VERSION === '1' ? '' : ', version';
  const [row] = await fx.dataSource.query(
    `SELECT (SELECT md5(string_agg(concat_ws('|', id, attributes::text, attribute_versions::text, created_at, created_record_id, updated_at, merged_into${version}), ',' ORDER BY id)) FROM profiles) p,
            (SELECT md5(string_agg(concat_ws('|', type, value, profile_id, confidence, first_seen, last_seen), ',' ORDER BY type, value)) FROM identifiers) i,
            (SELECT md5(string_agg(concat_ws('|', record_id, profile_id, message), ',' ORDER BY record_id, message)) FROM identity_warnings) w,
            (SELECT count(*) FROM profiles) n`,
  );
  return `${row.n} profiles, p ${row.p.slice(0, 8)} i ${row.i.slice(0, 8)} w ${String(row.w).slice(0, 8)}`;
}

type Rec = ReturnType<typeof encodeUpserts>[number];

async function runOnce(b: Build, records: Rec[], B: number, residentGraph: boolean, group: string): Promise<{ nodeUs: number; pgUs: number; perSec: number; state: string }> {
  await fx.dataSource.query(`TRUNCATE profiles, identifiers, identity_warnings, profile_events, consumer_offsets`);
  await fx.dataSource.query(`VACUUM ANALYZE profiles`);
  await fx.dataSource.query(`VACUUM ANALYZE identifiers`);
  const projector = new b.Projector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger, group, { residentGraph, deadLetters: 'log-transaction' });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const pg0 = await pgCpuMs();
  const batches: ReturnType<typeof batchOf>[] = [];
  for (let i = 0; i < records.length; i += B) batches.push(batchOf(0, records.slice(i, i + B), i));
  for (let i = 0; i < batches.length; i++) {
    const handled = projector.handleBatch(batches[i]);
    if (process.env.PREPARE === '1' && batches[i + 1]) (projector as unknown as { prepare(r: unknown[]): void }).prepare(batches[i + 1].records);
    await handled;
  }
  const c = process.cpuUsage(c0);
  const wall = performance.now() - t0;
  const pg = (await pgCpuMs()) - pg0;
  const N = records.length;
  return { nodeUs: (c.user + c.system) / N, pgUs: (pg * 1000) / N, perSec: N / (wall / 1000), state: await stateDigest() };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

it('measures', async () => {
  const builds = (process.env.BUILDS ?? 'dist').split(',').map((r) => load(resolve(__dirname, '../../..', r)));
  const people = Number(process.env.PEOPLE ?? 20000);
  const B = Number(process.env.BATCH ?? 2000);
  const runs = Number(process.env.RUNS ?? 4);
  const modes = (process.env.RESIDENT ?? '0').split(',').map((m) => m === '1');
  const pop = generatePopulation({ people, prefix: 'm', seed: 7, batchSize: 100 });
  const records = encodeUpserts(pop.items.map((i) => i.attributes));
  const lines: string[] = [`${records.length} records, batches of ${B}; builds: ${builds.map((b) => b.root).join(', ')}`];
  const log = (line: string) => {
    lines.push(line);
    process.stdout.write(line + '\n');
  };
  let group = 0;
  // Warm-up: every build's code JIT-compiled before the first measured run.
  for (const b of builds) for (const resident of modes) await runOnce(b, records.slice(0, 4 * B), B, resident, `w${group++}`);
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? builds : [...builds].reverse();
    const states = new Map<string, string>();
    for (const resident of modes) {
      for (const b of order) {
        const r = await runOnce(b, records, B, resident, `g${group++}`);
        const key = resident ? 'resident' : 'per-batch';
        b.results.set(key, [...(b.results.get(key) ?? []), r]);
        log(`run ${run} ${key.padEnd(9)} ${b.root}: node ${r.nodeUs.toFixed(1)} µs/rec, PG ${r.pgUs.toFixed(1)} µs/rec, ${Math.round(r.perSec)} rec/s; ${r.state}`);
        const expected = states.get(key);
        if (expected !== undefined && expected !== r.state) throw new Error(`${b.root} wrote another state (${key}): ${r.state} vs ${expected}`);
        states.set(key, r.state);
      }
    }
  }
  for (const [key] of builds[0].results) {
    for (const b of builds) {
      const rs = b.results.get(key)!;
      log(`median ${key.padEnd(9)} ${b.root}: node ${median(rs.map((r) => r.nodeUs)).toFixed(1)} µs/rec, PG ${median(rs.map((r) => r.pgUs)).toFixed(1)} µs/rec, ${Math.round(median(rs.map((r) => r.perSec)))} rec/s (${rs.length} runs)`);
    }
  }
  if (process.env.PROFILE) {
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    for (const resident of modes) {
      for (const b of builds) {
        await session.post('Profiler.start');
        await runOnce(b, records, B, resident, `p${group++}`);
        const { profile } = await session.post('Profiler.stop');
        const { totalMs, top } = selfTimes(profile as never, Number(process.env.TOP ?? 35));
        log(`profile ${resident ? 'resident' : 'per-batch'} ${b.root}: ${totalMs.toFixed(0)} ms sampled, self time:\n${top.join('\n')}`);
      }
    }
    session.disconnect();
  }
  // eslint-disable-next-line no-console
  console.log(lines.join('\n'));
});
