/* eslint-disable no-console */
// Not part of npm test: the bench's search phase (bench/search-phase.ts) against a kept data dir, run from
// dist/ (node scripts/build.js first). Two steps:
//   node dist/libs/profile-projection/perf/search-load.js build <dataDir> <people>
//     starts the built single-node server on <dataDir>, posts the bench population (seed 42, 100-item
//     bodies) and waits until the projector applied it all; the data dir is kept.
//   node dist/libs/profile-projection/perf/search-load.js run <dataDir> [seconds=15] [rate] [main.js…]
//     starts the server (MAIN env: another build's main.js), then per round: the status+city listing
//     at 50 connections (max), then open loop at `rate` (default half the max): p50/p99, and the CPU
//     of the server and of PostgreSQL per request (/proc: holds on a shared machine, wall time does not).
//     Several main.js arguments alternate builds round by round (A/B in one process).
import { generatePopulation } from '../../../bench/population';
import { runLoad, type LoadResult, type LoadSpec } from '../../../bench/load';
import { connect, embeddedDatabaseUrl, waitApplied } from '../../../bench/pg-direct';
import { cpuSnapshot } from '../../../bench/procstat';
import { summarize } from '../../../bench/stats';
import { startSingleNode, type SingleNode } from '../../../test/support/single-node-server';

const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

async function build(dataDir: string, people: number): Promise<void> {
  const server = await startSingleNode({ dataDir, startTimeoutMs: 120_000 });
  try {
    const pop = generatePopulation({ people, prefix: 'p', seed: 42, batchSize: 100 });
    const spec: LoadSpec = {
      baseUrl: server.url, headers: { 'x-api-key': server.publicKey }, mode: 'closed', concurrency: 8, expectStatus: 202,
      requests: { method: 'POST', paths: '/v3/profiles', bodies: pop.bodies.map((b) => b.json), items: pop.bodies.map((b) => b.items) },
    };
    const posted = await runLoad(spec);
    log(`posted ${posted.items} items (${posted.failed} failed)`);
    const db = await connect(embeddedDatabaseUrl(dataDir));
    const done = await waitApplied(db, { timeoutMs: 3_600_000, intervalMs: 500 });
    const { rows } = await db.query(`SELECT count(*) FILTER (WHERE merged_into IS NULL) AS live, count(*) AS all FROM profiles`);
    log(`applied ${done.position.applied} records; profiles ${JSON.stringify(rows[0])}`);
    await db.end();
  } finally {
    await server.stop();
  }
}

interface Round { label: string; maxPerSec: number; p50: number; p99: number; ok: number; failed: number; serverMsPerReq: number; pgMsPerReq: number }

async function measure(server: SingleNode, label: string, path: string, seconds: number, rate: number | undefined): Promise<Round> {
  const spec: LoadSpec = { baseUrl: server.url, headers: { 'x-api-key': server.privateKey }, mode: 'closed', concurrency: 50, expectStatus: 200, requests: { method: 'GET', paths: path } };
  await runLoad({ ...spec, durationMs: 2000, cycle: true, minRequests: 0 });
  const max = await runLoad({ ...spec, durationMs: seconds * 1000, cycle: true, minRequests: 0 });
  const maxPerSec = (max.ok * 1000) / (max.endMs - max.startMs);
  const fixedRate = rate ?? maxPerSec / 2;
  const c0 = cpuSnapshot(server.process.pid!);
  const fixed: LoadResult = await runLoad({ ...spec, mode: 'open', rate: fixedRate, durationMs: seconds * 1000 });
  const c1 = cpuSnapshot(server.process.pid!);
  const s = summarize(fixed.latencies);
  const per = (a: number, b: number) => ((b - a) * 1000) / Math.max(1, fixed.ok);
  return {
    label, maxPerSec: Math.round(maxPerSec * 10) / 10, p50: Math.round(s.p50), p99: Math.round(s.p99), ok: fixed.ok, failed: fixed.failed,
    serverMsPerReq: Math.round(per(c0.server, c1.server) * 10) / 10, pgMsPerReq: Math.round(per(c0.postgres, c1.postgres) * 10) / 10,
  };
}

async function run(dataDir: string, seconds: number, rate: number | undefined, mains: Array<string | undefined>): Promise<void> {
  const rounds: Round[] = [];
  for (let r = 0; r < Math.max(1, Number(process.env.ROUNDS ?? 1)); r++) {
    for (const main of mains) {
      const server = await startSingleNode({ dataDir, main, startTimeoutMs: 120_000 });
      try {
        const db = await connect(embeddedDatabaseUrl(dataDir));
        const { rows } = await db.query<{ city: string; n: string }>(
          `SELECT attributes->>'city' AS city, count(*) AS n FROM profiles WHERE merged_into IS NULL AND attributes ? 'city' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`,
        );
        await db.end();
        // SEARCH_QUERY: another query string ({city} = the most common city); default the bench's.
        const query = process.env.SEARCH_QUERY ?? 'filter[status]=active&filter[city]={city}&sort=updated_at:desc&limit=60';
        const path = `/api/v1/profiles?${query.replace('{city}', encodeURIComponent(rows[0].city))}`;
        const probe = await fetch(`${server.url}${path}`, { headers: { 'x-api-key': server.privateKey } });
        const body = (await probe.json()) as { total: number; profiles: Array<{ id: string }> };
        log(`${main ?? 'dist'}: ${rows[0].city} total ${body.total} (${rows[0].n} with the city), page ${body.profiles.length}, first ${body.profiles[0]?.id}`);
        const round = await measure(server, main ?? 'dist', path, seconds, rate);
        log(JSON.stringify(round));
        rounds.push(round);
      } finally {
        await server.stop();
      }
    }
  }
  console.table(rounds);
}

async function main(): Promise<void> {
  const [cmd, dataDir, a, b, ...rest] = process.argv.slice(2);
  if (cmd === 'build') return build(dataDir, Number(a ?? 20000));
  if (cmd === 'run') return run(dataDir, Number(a ?? 15), b && b !== '-' ? Number(b) : undefined, rest.length ? rest : [undefined]);
  throw new Error('usage: search-load build <dataDir> <people> | run <dataDir> [seconds] [rate|-] [main.js…]');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
