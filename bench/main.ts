/**
 * `npm run bench` — Tessera against its own ceilings, measured in one run on this machine (issue 4).
 *
 * Phases (one single-node server on a fresh data dir, started like `npm start`, LOG_LEVEL=warn):
 *   H        ceiling: the same request bodies against a bare Fastify route in its own node process
 *   ingest   POST /v3/profiles, 100-item bodies, 50 connections, closed loop (max items/s) — the
 *            projector is paused so the log fills up — then an open loop at half that rate (p50/p99)
 *   L        ceiling (bench/ceilings.ts): the records ingest would publish, appended through the Postgres log
 *            adapter from the bench process, no HTTP, same concurrency (records/s)
 *   project  the projector drains the pre-filled log (profiles/s until the checkpoint reaches the end)
 *   D        ceiling: a raw multi-row unnest upsert of the same rows into a table shaped LIKE profiles (its
 *            columns and every index), same PostgreSQL
 *   lookup   GET /v3/profiles?email= closed loop (req/s), then an open loop at half that rate (p99)
 *   Q        ceiling (bench/ceilings.ts): the route's prepared look-up straight through pg, same concurrency
 *   search   (bench/search-phase.ts) the native listing: closed loop (req/s), open loop at half (p50/p99/max);
 *            the server declares `city` a search attribute (TESSERA_SEARCH_ATTRIBUTES; BENCH_SEARCH_ATTRIBUTES
 *            overrides, `none` measures the GIN path), so D's table has its column and index too
 *   e2e      new people posted as fast as possible with the projector running: items / time until all applied
 *   latency  new people at half the end-to-end rate; sampled items polled by email until found
 *   events   (bench/events-phase.ts) POST /v3/events, 2 identifiers each, projector running: events / time until all applied
 *   replay   the server stopped; `tessera replay` rebuilds every projection from offset 0
 *   kafka    (bench/kafka-phase.ts) a fresh single-node Apache Kafka from the Maven jars: the log alone
 *            (records/s produced and consumed), then a second single-node server with KAFKA_BROKERS set:
 *            end-to-end upserts/s on Kafka. Skipped with a note when java / mvn are missing.
 * and the server's peak RSS throughout. Prints the issue-12 target table (ratios to the ceilings of the same
 * run, latencies at half the run's own maxima) and writes bench/results/<ISO date>.json.
 *
 * Flags (or environment): --people N (BENCH_PEOPLE), --e2e-people N (BENCH_E2E_PEOPLE),
 * --concurrency N (BENCH_CONCURRENCY), --batch N (BENCH_BATCH), --profile (BENCH_PROFILE=1: --cpu-prof
 * and a SQL round-trip trace of the server and the replay into bench/results/profiles/<date>/),
 * --keep-data, --out DIR, --seed N, --no-kafka (BENCH_KAFKA=0), --kafka-only, --kafka-people N
 * (BENCH_KAFKA_PEOPLE), --events N (BENCH_EVENTS), --help.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, totalmem, release, platform } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { APP_NODE_FLAGS } from '../test/support/app-node-flags';
import { SingleNode, startSingleNode } from '../test/support/single-node-server';
import { LoadResult, LoadSpec, runLoad, throughput } from './load';
import {
  ceilingDb,
  CeilingRow,
  connect,
  counterDelta,
  DbCounters,
  dbCounters,
  embeddedDatabaseUrl,
  logPosition,
  LogPosition,
  enableStatementStats,
  projectionCounts,
  PROJECTOR_GROUP,
  ProjectorPause,
  StatementStat,
  statementStats,
  waitApplied,
} from './pg-direct';
import { generatePopulation, Population } from './population';
import { KafkaPhaseResult, kafkaPhaseUnavailable, runKafkaPhase } from './kafka-phase';
import { gcDelta, scrapeGc } from './server-gc';
import { generateEvents, storedEventCount } from './events-phase';
import { runSearchPhase, type SearchPhaseResult } from './search-phase';
import { type LagWatchResult, watchLag } from './lag-watch';
import { around, type StallSample, watchStalls } from './stall-watch';
import { ceilingLog, ceilingLookup, ingestRecords, serverTenant, type LogCeiling, type LookupCeiling } from './ceilings';
import { CpuSnapshot, cpuSnapshot, cpuUse, CpuUse, loadAverage, memoryOf, ProcessWatcher } from './procstat';
import { ProfileReader, renderAnalysis, WindowAnalysis } from './profile-analysis';
import type { PgTraceSnapshot } from './instrument/pg-trace';
import { fmtInt, fmtMs, nowMs, round, sleep, slowestAnswers, summarize } from './stats';

const ROOT = resolve(__dirname, '../..');
const CLI_MAIN = join(ROOT, 'dist/apps/cli/src/main.js');
const HTTP_CEILING_MAIN = join(__dirname, 'http-ceiling-server.js');
const PG_TRACE = join(__dirname, 'instrument/pg-trace.js');

/**
 * The targets of issue 12: ratios to ceilings of the same run, latencies at half the run's own maximum,
 * and the server's peak RSS. `measured` is the absolute figure behind a ratio, `ceiling` what it is divided
 * by, `at` the rate a latency was measured at.
 */
interface Target {
  figure: string;
  min?: number;
  max?: number;
  measured?: { path: string; unit: string };
  ceiling?: { name: string; path: string; unit: string };
  at?: { path: string; unit: string };
}
const TARGETS: Record<string, Target> = {
  'ratios.projection': { figure: 'projection / D', min: 0.5, measured: { path: 'projection.profilesPerSec', unit: 'profiles/s' }, ceiling: { name: 'D', path: 'ceilings.db.rowsPerSec', unit: 'rows/s' } },
  'ratios.endToEnd': { figure: 'end to end (POST → queryable upserts/s) / D', min: 0.5, measured: { path: 'endToEnd.profilesPerSec', unit: 'upserts/s' }, ceiling: { name: 'D', path: 'ceilings.db.rowsPerSec', unit: 'rows/s' } },
  'ratios.replay': { figure: 'replay from offset 0 (records/s) / D', min: 2, measured: { path: 'replay.recordsPerSec', unit: 'records/s' }, ceiling: { name: 'D', path: 'ceilings.db.rowsPerSec', unit: 'rows/s' } },
  'ratios.ingest': { figure: 'ingest / min(H, L)', min: 0.5, measured: { path: 'ingest.itemsPerSec', unit: 'items/s' }, ceiling: { name: 'min(H, L)', path: 'ceilings.ingest.itemsPerSec', unit: 'items/s' } },
  'ratios.lookup': { figure: 'look-ups / Q', min: 0.5, measured: { path: 'lookup.reqPerSec', unit: 'req/s' }, ceiling: { name: 'Q', path: 'ceilings.lookup.reqPerSec', unit: 'req/s' } },
  'lookup.p99Ms': { figure: 'look-up p99 at half max', max: 10, at: { path: 'lookup.fixedRateReqPerSec', unit: 'req/s' } },
  'ingest.p99Ms': { figure: 'ingest p99 at half the max rate', max: 50, at: { path: 'ingest.fixedRateItemsPerSec', unit: 'items/s' } },
  'latency.queryableP95Ms': { figure: 'ingest → queryable p95 at half the end-to-end max', max: 250, at: { path: 'latency.rateItemsPerSec', unit: 'items/s' } },
  'search.p99Ms': { figure: 'search page (native API) p99 at half its max rate', max: 50, at: { path: 'search.fixedRatePerSec', unit: 'req/s' } },
  'memory.peakRssMiB': { figure: 'server peak RSS', max: 512 },
};

const pathValue = (obj: unknown, path: string): number =>
  path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], obj) as number;

interface Options {
  people: number;
  e2ePeople: number;
  concurrency: number;
  batch: number;
  fixedSeconds: number;
  lookupSeconds: number;
  queryableSeconds: number;
  ceilingMinSeconds: number;
  drainTimeoutSeconds: number;
  replayTimeoutSeconds: number;
  profile: boolean;
  keepData: boolean;
  out: string;
  seed: number;
  workerBatch: number;
  /** 'auto': run the Kafka phase when a JVM broker can run here; 'off'; 'only': nothing else. */
  kafka: 'auto' | 'off' | 'only';
  kafkaPeople: number;
  /** Events posted in the events phase. */
  events: number;
}

const USAGE = `usage: npm run bench -- [options]

  --people N            people in the population (default 200000; env BENCH_PEOPLE)
  --e2e-people N        people posted in the end-to-end phase (default people/4; env BENCH_E2E_PEOPLE)
  --concurrency N       connections of the closed-loop phases (default 50; env BENCH_CONCURRENCY)
  --batch N             items per POST body (default 100; env BENCH_BATCH)
  --fixed-seconds S     open-loop ingest phase at half the max rate (default 15)
  --lookup-seconds S    each lookup phase (default 10)
  --queryable-seconds S ingest-to-queryable latency phase (default 20)
  --profile             run the server and the replay with --cpu-prof and a SQL trace; write
                        bench/results/profiles/<date>/ with per-phase analyses (env BENCH_PROFILE=1)
  --keep-data           keep the temporary data dir
  --out DIR             results directory (default bench/results)
  --seed N              population seed (default 42)
  --no-kafka            skip the Kafka phase (env BENCH_KAFKA=0); it is skipped anyway without java/mvn
  --kafka-only          run only the Kafka phase (broker alone, then end to end on Kafka)
  --kafka-people N      people posted in the Kafka end-to-end phase (default e2e-people, at most 50000;
                        env BENCH_KAFKA_PEOPLE); TESSERA_KAFKA_VERSION picks the broker (default 4.4.0)
  --events N            events posted in the events phase (default e2e-people; env BENCH_EVENTS)

  BENCH_SEARCH_ATTRIBUTES  the server's TESSERA_SEARCH_ATTRIBUTES (default city, the search phase's filter;
                        none: the listing goes through the GIN on attributes)`;

function options(): Options {
  const { values } = parseArgs({
    options: {
      people: { type: 'string' },
      'e2e-people': { type: 'string' },
      concurrency: { type: 'string' },
      batch: { type: 'string' },
      'fixed-seconds': { type: 'string' },
      'lookup-seconds': { type: 'string' },
      'queryable-seconds': { type: 'string' },
      profile: { type: 'boolean' },
      'keep-data': { type: 'boolean' },
      out: { type: 'string' },
      seed: { type: 'string' },
      'no-kafka': { type: 'boolean' },
      'kafka-only': { type: 'boolean' },
      'kafka-people': { type: 'string' },
      events: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const num = (flag: string | undefined, env: string | undefined, fallback: number, name: string) => {
    const raw = flag ?? env;
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw.replace(/_/g, ''));
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
    return n;
  };
  const people = Math.round(num(values.people, process.env.BENCH_PEOPLE, 200_000, '--people'));
  const e2ePeople = Math.round(num(values['e2e-people'], process.env.BENCH_E2E_PEOPLE, Math.max(100, Math.round(people / 4)), '--e2e-people'));
  if (values['no-kafka'] && values['kafka-only']) throw new Error('--no-kafka and --kafka-only exclude each other');
  return {
    people,
    e2ePeople,
    kafka: values['kafka-only'] ? 'only' : values['no-kafka'] || process.env.BENCH_KAFKA === '0' ? 'off' : 'auto',
    kafkaPeople: Math.round(num(values['kafka-people'], process.env.BENCH_KAFKA_PEOPLE, Math.min(e2ePeople, 50_000), '--kafka-people')),
    events: Math.round(num(values.events, process.env.BENCH_EVENTS, e2ePeople, '--events')),
    concurrency: Math.round(num(values.concurrency, process.env.BENCH_CONCURRENCY, 50, '--concurrency')),
    batch: Math.round(num(values.batch, process.env.BENCH_BATCH, 100, '--batch')),
    fixedSeconds: num(values['fixed-seconds'], undefined, 15, '--fixed-seconds'),
    lookupSeconds: num(values['lookup-seconds'], undefined, 10, '--lookup-seconds'),
    queryableSeconds: num(values['queryable-seconds'], undefined, 20, '--queryable-seconds'),
    ceilingMinSeconds: 10,
    drainTimeoutSeconds: num(undefined, process.env.BENCH_DRAIN_TIMEOUT_S, 400, 'BENCH_DRAIN_TIMEOUT_S'),
    replayTimeoutSeconds: num(undefined, process.env.BENCH_REPLAY_TIMEOUT_S, 480, 'BENCH_REPLAY_TIMEOUT_S'),
    profile: Boolean(values.profile) || process.env.BENCH_PROFILE === '1',
    keepData: Boolean(values['keep-data']),
    out: resolve(values.out ?? join(ROOT, 'bench/results')),
    seed: Math.round(num(values.seed, process.env.BENCH_SEED, 42, '--seed')),
    workerBatch: Math.round(num(undefined, process.env.TESSERA_WORKER_BATCH_SIZE, 2000, 'TESSERA_WORKER_BATCH_SIZE')),
  };
}

const benchStart = nowMs();
function log(message: string): void {
  const s = ((nowMs() - benchStart) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[bench ${s}s] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// Phases: a time window, CPU per process, database counters and (profiling) the SQL trace.

interface PhaseRecord {
  startMs: number;
  endMs: number;
  seconds: number;
  cpu: CpuUse;
  db?: DbCounters & { commitsPerSec: number; walMiBPerSec: number };
  sql?: SqlShare[];
  sqlRoundTrips?: number;
  /** Server-side time per statement (pg_stat_statements, profiling runs): execution + planning. */
  pgStatements?: PgStatementShare[];
  serverCpuFromTrace?: { cores: number; eventLoopUtilisation: number };
  /** The server's GC pauses during the phase, by kind (server-gc.ts). */
  serverGc?: Record<string, { pauses: number; ms: number }>;
  /** The server's RSS at the phase's end and its high-water mark then (VmHWM): the phase that raised the peak shows. */
  serverMemory?: { rssMiB: number; peakMiB: number };
}

interface PgStatementShare {
  statement: string;
  calls: number;
  execMs: number;
  planMs: number;
  meanMs: number;
  rows: number;
}

interface SqlShare {
  statement: string;
  count: number;
  totalMs: number;
  avgMs: number;
  maxMs: number;
  rows: number;
}

setFlagsFromString('--expose-gc');
/** A full collection of the bench process's main heap (its load generators are worker threads with heaps of their own). */
const collectBenchGarbage = runInNewContext('gc') as () => void;

class PhaseRecorder {
  readonly phases: Record<string, PhaseRecord> = {};
  private traceSeq = 0;

  constructor(
    private readonly serverPid: number,
    private readonly db: import('pg').Client,
    private readonly traceFile?: string,
    private readonly pgStatements = false,
    /** Throws when the server is gone (another process on a shared machine may signal it). */
    private readonly checkServer: () => void = () => undefined,
    /** The server's base URL: its /metrics gives the phase's garbage collection (server-gc.ts). */
    private readonly serverUrl?: string,
  ) {}

  async run<T>(name: string, work: () => Promise<T>): Promise<T> {
    log(`phase ${name} …`);
    // The bench's own heap collected now rather than inside the phase: a mark-compact of it took 1.45 cores for
    // 200 ms in a look-up run (its parallel threads too), starving the server — an 81 ms look-up p99 that was the bench's.
    collectBenchGarbage();
    const stmts0 = this.pgStatements ? await statementStats(this.db) : undefined;
    const [cpu0, db0, trace0] = [cpuSnapshot(this.serverPid), await dbCounters(this.db), await this.trace()];
    const gc0 = this.serverUrl ? await scrapeGc(this.serverUrl) : undefined;
    const startMs = nowMs();
    const result = await work();
    const endMs = nowMs();
    this.checkServer();
    const cpu1: CpuSnapshot = cpuSnapshot(this.serverPid);
    const memory = memoryOf(this.serverPid);
    const gc1 = gc0 && this.serverUrl ? await scrapeGc(this.serverUrl) : undefined;
    const trace1 = await this.trace();
    // Backends report their counters at most once a second.
    await sleep(1100);
    const db1 = await dbCounters(this.db);
    const stmts1 = this.pgStatements ? await statementStats(this.db) : undefined;
    const seconds = (endMs - startMs) / 1000;
    const d = counterDelta(db0, db1);
    const record: PhaseRecord = {
      startMs,
      endMs,
      seconds: round(seconds, 2),
      cpu: roundCpu(cpuUse(cpu0, cpu1)),
      db: { ...d, commitsPerSec: round(d.xactCommit / seconds), walMiBPerSec: round(d.walBytes / 1048576 / seconds, 1) },
    };
    if (trace0 && trace1) {
      const sql = diffTrace(trace0, trace1);
      record.sql = sql.slice(0, 15);
      record.sqlRoundTrips = sql.reduce((n, s) => n + s.count, 0);
      const wall = trace1.atMs - trace0.atMs;
      const cpu = trace1.cpuUserMs + trace1.cpuSystemMs - trace0.cpuUserMs - trace0.cpuSystemMs;
      const active = trace1.eventLoop.active - trace0.eventLoop.active;
      const idle = trace1.eventLoop.idle - trace0.eventLoop.idle;
      record.serverCpuFromTrace = { cores: round(cpu / wall, 2), eventLoopUtilisation: round(active / (active + idle), 3) };
    }
    if (stmts0 && stmts1) record.pgStatements = diffStatements(stmts0, stmts1).slice(0, 15);
    if (gc0 && gc1) record.serverGc = gcDelta(gc0, gc1);
    if (memory && Number.isFinite(memory.rssMiB)) record.serverMemory = { rssMiB: round(memory.rssMiB), peakMiB: round(memory.hwmMiB) };
    this.phases[name] = record;
    log(
      `phase ${name} done in ${seconds.toFixed(1)} s (cores: server ${record.cpu.serverCores}, postgres ${record.cpu.postgresCores}, ` +
        `bench ${record.cpu.benchCores}, other processes ${record.cpu.otherCores}${record.cpu.otherCores > 0.2 ? ' ← the machine is shared: numbers are disturbed' : ''})` +
        (record.serverGc ? `; server GC ${Object.entries(record.serverGc).map(([k, g]) => `${k} ${g.pauses} × = ${g.ms} ms`).join(', ') || 'none'}` : '') +
        (record.serverMemory ? `; server RSS ${record.serverMemory.rssMiB} MiB (peak so far ${record.serverMemory.peakMiB})` : ''),
    );
    return result;
  }

  /** Asks the traced server for a snapshot (SIGUSR2) and reads it. */
  async trace(): Promise<PgTraceSnapshot | undefined> {
    if (!this.traceFile) return undefined;
    const want = ++this.traceSeq;
    process.kill(this.serverPid, 'SIGUSR2');
    const deadline = nowMs() + 3000;
    while (nowMs() < deadline) {
      try {
        const snap = JSON.parse(readFileSync(this.traceFile, 'utf8')) as PgTraceSnapshot;
        if (snap.seq >= want) {
          this.traceSeq = snap.seq;
          return snap;
        }
      } catch {
        /* not written yet */
      }
      await sleep(5);
    }
    return undefined;
  }
}

function roundCpu(c: CpuUse): CpuUse {
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, round(v, 2)])) as unknown as CpuUse;
}

function diffStatements(a: Map<string, StatementStat>, b: Map<string, StatementStat>): PgStatementShare[] {
  const out: PgStatementShare[] = [];
  for (const [id, e] of b) {
    const before = a.get(id) ?? { calls: 0, execMs: 0, planMs: 0, rows: 0 };
    const calls = e.calls - before.calls;
    if (calls <= 0) continue;
    const execMs = e.execMs - before.execMs;
    const planMs = e.planMs - before.planMs;
    out.push({ statement: e.query.replace(/\s+/g, ' ').trim().slice(0, 160), calls, execMs: round(execMs), planMs: round(planMs), meanMs: round((execMs + planMs) / calls, 3), rows: e.rows - before.rows });
  }
  return out.sort((x, y) => y.execMs + y.planMs - (x.execMs + x.planMs));
}

function diffTrace(a: PgTraceSnapshot, b: PgTraceSnapshot): SqlShare[] {
  const out: SqlShare[] = [];
  for (const [statement, e] of Object.entries(b.statements)) {
    const before = a.statements[statement] ?? { count: 0, totalMs: 0, maxMs: 0, rows: 0 };
    const count = e.count - before.count;
    if (count <= 0) continue;
    const totalMs = e.totalMs - before.totalMs;
    out.push({ statement, count, totalMs: round(totalMs), avgMs: round(totalMs / count, 2), maxMs: round(e.maxMs, 1), rows: e.rows - before.rows });
  }
  return out.sort((x, y) => y.totalMs - x.totalMs);
}

// ---------------------------------------------------------------------------------------------

interface HttpCeiling {
  itemsPerSec: number;
  requestsPerSec: number;
  seconds: number;
  requests: number;
  failed: number;
  serverCores: number;
  benchCores: number;
  otherCores: number;
}

/**
 * The fixed-rate (open-loop) phases first send at their rate this long on the same connections and
 * leave it out: a fresh load worker's first ≈ 0.7 s answered 2.5–4.5 % of a run's look-ups late (p99 8–18 ms
 * instead of 6–9 ms) — the generator warming up, not the server (issue 12, eleventh round).
 */
const OPEN_LOOP_WARMUP_MS = 2000;

function loadSummary(r: LoadResult, warmupShare = 0.1) {
  const t = throughput(r, warmupShare);
  const lat = summarize(r.latencies);
  return {
    itemsPerSec: round(t.perSec),
    overallItemsPerSec: round(t.overallPerSec),
    requestsPerSec: round((r.ok * 1000) / Math.max(1, r.endMs - r.startMs)),
    seconds: round(t.seconds, 2),
    requests: r.issued,
    warmupRequests: r.warmupRequests,
    warmupFailed: r.warmupFailed,
    ok: r.ok,
    failed: r.failed,
    statusCounts: r.statusCounts,
    errorSamples: r.errorSamples,
    p50Ms: round(lat.p50, 2),
    p95Ms: round(lat.p95, 2),
    p99Ms: round(lat.p99, 2),
    maxMs: round(lat.max, 2),
    slowest: slowestAnswers(r.latencies, r.completedAt, r.startMs),
    generatorStalls: r.generatorStalls.slice(0, 20),
  };
}

/** A fixed-rate run with stall-watch.ts's timeline beside it. */
async function withStallWatch(w: { baseUrl: string; dbUrl: string; serverPid: number }, work: () => Promise<LoadResult>): Promise<{ run: LoadResult; samples: StallSample[] }> {
  const watch = watchStalls(w.baseUrl, w.dbUrl, w.serverPid);
  let run: LoadResult;
  let samples: StallSample[] = [];
  try {
    run = await work();
  } finally {
    samples = await watch.stop();
  }
  return { run, samples };
}

/**
 * What the timeline saw around a run's three busiest windows of slow answers (the rest of it is not kept: 50–90
 * samples a run say little more), each also named in the log.
 */
function stallsAround(samples: StallSample[], startMs: number, busiest: ReturnType<typeof slowestAnswers>['busiest']) {
  const stalls = busiest.slice(0, 3).map((b) => ({ ...b, timeline: around(samples, startMs, b) }));
  for (const s of stalls) {
    // The reading is the gap between ticks of a 10 ms timer: 10 ms is no delay.
    const blocked = Math.max(0, ...s.timeline.map((t) => t.eventLoopMaxMs - 10).filter(Number.isFinite));
    const gc: Record<string, number> = {};
    for (const t of s.timeline) for (const [kind, ms] of Object.entries(t.gcMs)) gc[kind] = round((gc[kind] ?? 0) + ms, 1);
    const gcText = Object.entries(gc).map(([kind, ms]) => `${kind} ${fmtMs(ms)}`).join(', ') || 'none';
    const waits = [...new Set(s.timeline.flatMap((t) => t.postgres))].join(', ') || 'none';
    const sum = (pick: (t: (typeof s.timeline)[number]) => number) => s.timeline.reduce((n, t) => n + pick(t), 0);
    const database =
      `log appends over 50 ms ${sum((t) => t.logAppends.over50Ms)} of ${sum((t) => t.logAppends.count)}, ` +
      `look-ups the server timed over 10 ms ${sum((t) => t.lookups.over10Ms)} of ${sum((t) => t.lookups.count)}`;
    log(`  stall at ${s.atS} s (${s.answers} slow answers, worst ${fmtMs(s.worstMs)}): server event loop blocked up to ${fmtMs(blocked)}, GC ${gcText}; ${database}; postgres: ${waits}`);
  }
  return stalls;
}

/** A fixed-rate run's summary with what the timeline saw around its stalls. */
function fixedRunSummary({ run, samples }: { run: LoadResult; samples: StallSample[] }) {
  const summary = loadSummary(run, 0);
  return { ...summary, stalls: stallsAround(samples, run.startMs, summary.slowest.busiest) };
}

/** One line on where a fixed-rate run's slowest 1 % came from (stats.ts slowestAnswers). */
function describeSlowest(x: ReturnType<typeof slowestAnswers>, stalls: Array<{ atS: number; ms: number }>): string {
  const top = x.busiest.slice(0, 3).map((b) => `${b.answers} at ${b.atS} s (worst ${fmtMs(b.worstMs)})`).join(', ');
  const own = stalls.length ? stalls.slice(0, 5).map((g) => `${g.ms} ms at ${g.atS} s`).join(', ') : 'none';
  return `slowest 1 % (≥ ${fmtMs(x.thresholdMs)}): ${x.answers} answers in ${x.windows} windows of 100 ms${top ? `, most ${top}` : ''}; load generator's own stalls: ${own}`;
}

async function ceilingHttp(pop: Population, o: Options): Promise<HttpCeiling> {
  const child = spawn(process.execPath, [HTTP_CEILING_MAIN], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolveUrl, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /listening (\S+)/.exec(out);
        if (m) resolveUrl(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`ceiling server exited with ${code}`)));
      setTimeout(() => reject(new Error('ceiling server did not start')), 15_000).unref();
    });
    const spec = postSpec(url, 'none', pop, o, { mode: 'closed' });
    // Warm-up (JIT) on the first 5% of the bodies, then the measured run over all of them, cycled to at least ceilingMinSeconds.
    await runLoad({ ...spec, durationMs: 2000, cycle: true, minRequests: 0 });
    const cpu0 = cpuSnapshot(child.pid!);
    const r = await runLoad({ ...spec, cycle: true, minRequests: pop.bodies.length, durationMs: o.ceilingMinSeconds * 1000 });
    const cpu = cpuUse(cpu0, cpuSnapshot(child.pid!));
    const s = loadSummary(r);
    return {
      itemsPerSec: s.itemsPerSec,
      requestsPerSec: s.requestsPerSec,
      seconds: s.seconds,
      requests: s.requests,
      failed: s.failed,
      serverCores: round(cpu.serverCores, 2),
      benchCores: round(cpu.benchCores, 2),
      otherCores: round(cpu.otherCores, 2),
    };
  } finally {
    child.kill('SIGTERM');
  }
}

function postSpec(baseUrl: string, key: string, pop: Population, o: Options, extra: Partial<LoadSpec>): LoadSpec {
  return {
    baseUrl,
    headers: { 'x-api-key': key },
    mode: 'closed',
    concurrency: o.concurrency,
    expectStatus: 202,
    requests: { method: 'POST', paths: '/v3/profiles', bodies: pop.bodies.map((b) => b.json), items: pop.bodies.map((b) => b.items) },
    ...extra,
  };
}

/** A CHECKPOINT now: when it started (seconds after `sinceMs`) and how long it took. */
async function forceCheckpoint(db: import('pg').Client, sinceMs: number): Promise<{ atSec: number; ms: number }> {
  const started = nowMs();
  await db.query('CHECKPOINT');
  return { atSec: (started - sinceMs) / 1000, ms: nowMs() - started };
}

/** GET until the profile is found; resolves with the time it was found (monotonic ms), or NaN on timeout. */
function pollFound(agent: Agent, baseUrl: string, key: string, email: string, intervalMs: number, timeoutMs: number): Promise<number> {
  const url = new URL(baseUrl);
  const path = `/v3/profiles?email=${encodeURIComponent(email)}`;
  const deadline = nowMs() + timeoutMs;
  const once = () =>
    new Promise<number>((resolveStatus) => {
      const r = request({ agent, host: url.hostname, port: url.port, path, headers: { 'x-api-key': key } }, (res) => {
        res.resume();
        res.on('end', () => resolveStatus(res.statusCode ?? 0));
      });
      r.on('error', () => resolveStatus(0));
      r.end();
    });
  return (async () => {
    for (;;) {
      const status = await once();
      const at = nowMs();
      if (status === 200) return at;
      if (at > deadline) return NaN;
      await sleep(intervalMs);
    }
  })();
}

/** The server's output without its start banner (address, the throwaway data dir's keys): only what it warned of. */
function withoutStartBanner(output: string): string {
  return output.replace(/^\s*Tessera is running at [^\n]*\n(?:[ \t]+[^\n]*\n|[ \t]*\n)*/m, '');
}

function sampleEmails(pop: Population, count: number, seed: number): string[] {
  let x = seed >>> 0 || 1;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.push(pop.people[(x >>> 0) % pop.people.length]!.email);
  }
  return out;
}

interface ReplayResult {
  records: number;
  seconds: number;
  recordsPerSec: number;
  wallSeconds: number;
  complete: boolean;
  peakRssMiB: number;
  cores: { cli: number; postgres: number };
  output: string;
}

async function runReplay(dataDir: string, o: Options, profileDir?: string): Promise<ReplayResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, TESSERA_DATA_DIR: dataDir, DATABASE_URL: '', KAFKA_BROKERS: '', LOG_LEVEL: 'warn' };
  if (profileDir) {
    env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --require ${PG_TRACE}`.trim();
    env.BENCH_CPU_PROFILE = join(profileDir, 'replay.cpuprofile');
    env.BENCH_PG_TRACE_FILE = join(profileDir, 'replay-sql-trace.json');
  }
  const started = nowMs();
  const child: ChildProcess = spawn(process.execPath, [...APP_NODE_FLAGS, CLI_MAIN, 'replay'], { env, stdio: ['ignore', 'pipe', 'pipe'] }); // as `npm run tessera -- replay`
  const watcher = new ProcessWatcher(child.pid!).start(250);
  let out = '';
  let lastCpu = cpuSnapshot(child.pid!);
  const cpuTimer = setInterval(() => {
    const s = cpuSnapshot(child.pid!);
    if (s.server > 0) lastCpu = s;
  }, 500);
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const timer = setTimeout(() => child.kill('SIGINT'), o.replayTimeoutSeconds * 1000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  clearInterval(cpuTimer);
  watcher.stop();
  const wallSeconds = (nowMs() - started) / 1000;
  const done = /replay done: (\d+) records in ([\d.]+)s/.exec(out);
  if (done) {
    const records = Number(done[1]);
    const seconds = Number(done[2]);
    return { records, seconds, recordsPerSec: round(records / seconds), wallSeconds: round(wallSeconds, 1), complete: code === 0, peakRssMiB: round(watcher.peakMiB()), cores: { cli: round(lastCpu.server / wallSeconds, 2), postgres: round(lastCpu.postgres / wallSeconds, 2) }, output: out };
  }
  const progress = [...out.matchAll(/replayed (\d+)\/(\d+) records \((\d+) records\/s/g)].pop();
  if (!progress) throw new Error(`replay failed (exit ${code}):\n${out.slice(-3000)}`);
  return {
    records: Number(progress[1]),
    seconds: NaN,
    recordsPerSec: Number(progress[3]),
    wallSeconds: round(wallSeconds, 1),
    complete: false,
    peakRssMiB: round(watcher.peakMiB()),
    cores: { cli: round(lastCpu.server / wallSeconds, 2), postgres: round(lastCpu.postgres / wallSeconds, 2) },
    output: out,
  };
}

/** The replay CLI's lines other than its progress reports. */
function replayNotes(output: string): string[] {
  return output.split('\n').filter((line) => line.trim() && !/^(read|replayed) \d+\/\d+ records/.test(line));
}

function machine() {
  const c = cpus();
  return { cpus: c.length, cpuModel: c[0]?.model ?? 'unknown', memoryGiB: round(totalmem() / 1024 ** 3, 1), node: process.version, platform: `${platform()} ${release()}`, loadAverage1m: loadAverage() };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = options();
  const date = new Date();
  const stamp = date.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const fileStamp = stamp.replace(/:/g, '-');
  mkdirSync(o.out, { recursive: true });
  const profileDir = o.profile ? join(o.out, 'profiles', fileStamp) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const traceFile = profileDir ? join(profileDir, 'server-sql-trace.json') : undefined;

  const startMachine = machine();
  log(`machine: ${JSON.stringify(startMachine)}`);
  if (startMachine.loadAverage1m > 0.5) log(`WARNING: load average ${startMachine.loadAverage1m} before the bench started: other processes share the machine; see "other" per phase`);
  if (o.kafka === 'only') {
    const kafka = await kafkaPhase(o);
    const full = { date: stamp, benchSeconds: round((nowMs() - benchStart) / 1000, 1), machine: { ...startMachine, loadAverage1mAtEnd: loadAverage() }, kafka };
    const file = join(o.out, `${fileStamp}-kafka.json`);
    writeFileSync(file, `${JSON.stringify(full, null, 2)}\n`);
    printKafkaRows(kafka);
    log(`results: ${file}`);
    return;
  }
  const pop = generatePopulation({ people: o.people, prefix: 'p', seed: o.seed, batchSize: o.batch });
  const populationSummary = {
    people: o.people,
    upserts: pop.items.length,
    bodies: pop.bodies.length,
    itemsPerBody: o.batch,
    concurrency: o.concurrency,
    kinds: pop.counts,
    shares: Object.fromEntries(Object.entries(pop.counts).map(([k, v]) => [k, round(v / pop.items.length, 3)])),
    peopleWith: pop.identifierCounts,
    avgItemBytes: round(pop.avgItemBytes),
    avgAttributes: round(pop.avgAttributes, 1),
    e2ePeople: o.e2ePeople,
    seed: o.seed,
    workerBatchSize: o.workerBatch,
  };
  log(
    `population: ${fmtInt(o.people)} people → ${fmtInt(pop.items.length)} upserts in ${fmtInt(pop.bodies.length)} bodies ` +
      `(${JSON.stringify(pop.counts)}; ${pop.avgItemBytes.toFixed(0)} B and ${pop.avgAttributes.toFixed(1)} attributes per item)`,
  );

  // --- ceiling H (before anything else runs on the machine) ---------------------------------
  // Measured at the start and again at the end of the run; the ceiling is the better of the two (other load
  // on the machine can only lower it), so the ratio is never flattered by a disturbed ceiling.
  const hRuns: HttpCeiling[] = [];
  const measureH = async (when: string) => {
    log(`ceiling H (${when}): bare Fastify route, same bodies, same connections …`);
    const run = await ceilingHttp(pop, o);
    hRuns.push(run);
    log(`ceiling H (${when}): ${fmtInt(run.itemsPerSec)} items/s (${fmtInt(run.requestsPerSec)} req/s; server ${run.serverCores} cores, bench ${run.benchCores}, other processes ${run.otherCores})`);
  };
  await measureH('start');

  // --- single-node server ---------------------------------------------------------------------
  // The search phase filters on city: declared, as an operator would declare an attribute listings filter on.
  const serverEnv: Record<string, string> = { LOG_LEVEL: 'warn', TESSERA_SEARCH_ATTRIBUTES: process.env.BENCH_SEARCH_ATTRIBUTES || 'city' };
  // The server's own node flags (experiments: BENCH_SERVER_NODE_OPTIONS='--max-semi-space-size=32'); the bench keeps its own.
  if (process.env.BENCH_SERVER_NODE_OPTIONS) serverEnv.NODE_OPTIONS = process.env.BENCH_SERVER_NODE_OPTIONS;
  if (profileDir) {
    serverEnv.NODE_OPTIONS = `${serverEnv.NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? ''} --require ${PG_TRACE}`.trim();
    serverEnv.BENCH_PG_TRACE_FILE = traceFile!;
    serverEnv.BENCH_CPU_PROFILE = join(profileDir, 'server.cpuprofile');
  }
  let serverSpawnMs = nowMs();
  let server: SingleNode | undefined = await startSingleNode({ env: serverEnv, startTimeoutMs: 120_000 });
  const dataDir = server.dataDir;
  if (profileDir) {
    // pg_stat_statements needs a server start with the library preloaded: enable it, restart on the same data dir.
    const admin = await connect(embeddedDatabaseUrl(dataDir));
    await enableStatementStats(admin);
    await admin.end();
    await server.stop('SIGTERM');
    serverSpawnMs = nowMs();
    server = await startSingleNode({ dataDir, env: serverEnv, startTimeoutMs: 120_000 });
    log('profiling: server restarted with pg_stat_statements');
  }
  log(`server up at ${server.url} (pid ${server.process.pid}, data ${dataDir})`);
  const watcher = new ProcessWatcher(server.process.pid!).start(250);
  const dbUrl = embeddedDatabaseUrl(dataDir);
  const db = await connect(dbUrl);
  db.on('error', (e) => log(`bench database session: ${e.message}`));
  const running = server;
  const rec = new PhaseRecorder(
    server.process.pid!,
    db,
    traceFile,
    Boolean(profileDir),
    () => {
      const p = running.process;
      if (p.exitCode !== null || p.signalCode !== null) {
        throw new Error(`the server exited (code ${p.exitCode}, signal ${p.signalCode}) during the run — was it signalled by another process?\n${running.output().slice(-3000)}`);
      }
    },
    server.url,
  );
  const results: Record<string, unknown> = {};
  let tenant = 'default';
  let replay: ReplayResult | undefined;
  let serverPeakRss = 0;
  /** What the server printed (LOG_LEVEL=warn: its warnings and errors), kept beside the results. */
  let serverLog = '';
  try {
    const pub = server.publicKey;
    const priv = server.privateKey;

    // --- ingest: projector paused, the log fills up ------------------------------------------
    let pause: ProjectorPause | undefined = await ProjectorPause.hold(dbUrl);
    const ingestMaxRun = await rec.run('ingest-max', () => runLoad(postSpec(server!.url, pub, pop, o, { mode: 'closed' })));
    const ingestMax = loadSummary(ingestMaxRun);
    log(`ingest max: ${fmtInt(ingestMax.itemsPerSec)} items/s (${ingestMax.ok}/${ingestMax.requests} bodies accepted, p50 ${fmtMs(ingestMax.p50Ms)}, p99 ${fmtMs(ingestMax.p99Ms)})`);
    if (ingestMax.failed) log(`ingest max: non-202 answers ${JSON.stringify(ingestMax.statusCounts)} ${ingestMax.errorSamples.join(' | ')}`);

    const avgItemsPerBody = pop.items.length / pop.bodies.length;
    const fixedItemsPerSec = ingestMax.itemsPerSec / 2;
    const stallWatch = { baseUrl: server.url, dbUrl, serverPid: server.process.pid! };
    const fixedWatched = await rec.run('ingest-fixed', () =>
      withStallWatch(stallWatch, () => runLoad(postSpec(server!.url, pub, pop, o, { mode: 'open', rate: fixedItemsPerSec / avgItemsPerBody, durationMs: o.fixedSeconds * 1000, warmupMs: OPEN_LOOP_WARMUP_MS }))),
    );
    const fixedRun = fixedWatched.run;
    const ingestFixed = fixedRunSummary(fixedWatched);
    log(`ingest at ${fmtInt(fixedItemsPerSec)} items/s: p50 ${fmtMs(ingestFixed.p50Ms)}, p99 ${fmtMs(ingestFixed.p99Ms)}, max ${fmtMs(ingestFixed.maxMs)}; ${describeSlowest(ingestFixed.slowest, ingestFixed.generatorStalls)}`);
    if (ingestFixed.failed) log(`ingest at half rate: non-202 answers ${JSON.stringify(ingestFixed.statusCounts)} ${ingestFixed.errorSamples.join(' | ')}`);

    // --- ceiling L: the same records appended through the Postgres log adapter, no HTTP ------------
    tenant = await serverTenant(db);
    const lBatches = ingestRecords(tenant, pop.bodies.map((b) => b.json));
    const logCeiling = await rec.run('ceiling-log', () => ceilingLog(dbUrl, db, lBatches, o.concurrency, o.ceilingMinSeconds));
    lBatches.length = 0;
    log(`ceiling L: ${fmtInt(logCeiling.recordsPerSec)} records/s (${fmtInt(logCeiling.records)} records in ${logCeiling.calls} produce calls, ${o.concurrency} in flight, pool ${logCeiling.poolSize}; call p99 ${fmtMs(logCeiling.callP99Ms)})`);

    // Rows the log now holds, in order: the population once, then the fixed-rate bodies (cycled).
    const ceilingRows: CeilingRow[] = [];
    const addBody = (index: number) => {
      const b = pop.bodies[index % pop.bodies.length]!;
      for (let i = b.firstItem; i < b.firstItem + b.items; i++) ceilingRows.push({ key: pop.items[i]!.key, attributes: JSON.stringify(pop.items[i]!.attributes) });
    };
    for (let i = 0; i < ingestMaxRun.issued; i++) addBody(i);
    for (let i = 0; i < fixedRun.issued; i++) addBody(i);
    pop.items.length = 0; // the bench's own heap stays small: see PhaseRecorder.run

    // --- projection: drain the pre-filled log ---------------------------------------------------
    const before: LogPosition = await logPosition(db);
    log(`log holds ${fmtInt(before.end)} records (bodies sent: ${fmtInt(ceilingRows.length)} items); projector checkpoint ${fmtInt(before.applied)}`);
    let projStart = 0;
    const drained = await rec.run('projection', async () => {
      projStart = nowMs();
      await pause!.release();
      pause = undefined;
      return waitApplied(db, { target: before.end, timeoutMs: o.drainTimeoutSeconds * 1000, intervalMs: 50 });
    });
    const projectedRecords = drained.position.applied - before.applied;
    const projection = {
      profilesPerSec: round((projectedRecords * 1000) / (drained.atMs - projStart)),
      records: projectedRecords,
      seconds: round((drained.atMs - projStart) / 1000, 2),
      complete: drained.complete,
      batchSize: o.workerBatch,
    };
    log(`projection: ${fmtInt(projection.profilesPerSec)} profiles/s (${fmtInt(projectedRecords)} records in ${projection.seconds} s${drained.complete ? '' : ', TIMED OUT'})`);
    const lastPerson = pop.people[pop.people.length - 1]!;
    const probe = await fetch(`${server.url}/v3/profiles?email=${encodeURIComponent(lastPerson.email)}`, { headers: { 'x-api-key': priv } });
    if (probe.status !== 200) log(`WARNING: last person not queryable after projection (status ${probe.status})`);
    const stateAfterProjection = await projectionCounts(db);
    log(`projections: ${JSON.stringify(stateAfterProjection)}`);

    // --- ceiling D: same rows, bare table, same PostgreSQL --------------------------------------
    const dRows = ceilingRows.slice(0, Math.max(0, Math.min(ceilingRows.length, projectedRecords)));
    const d = await rec.run('ceiling-db', () => ceilingDb(dbUrl, dRows, o.workerBatch, tenant));
    if (!d.table.sameAsProfiles) log(`WARNING: ceiling D's table differs from profiles (missing indexes: ${d.table.missingIndexes.join('; ') || 'none'}) — D is not comparable`);
    log(`ceiling D: ${fmtInt(d.rowsPerSec)} rows/s (${fmtInt(d.rows)} rows in ${d.statements} statements, ${d.seconds.toFixed(2)} s)`);
    ceilingRows.length = 0;
    dRows.length = 0;

    // --- lookups --------------------------------------------------------------------------------
    const lookupEmails = sampleEmails(pop, 50_000, o.seed);
    const lookupPaths = lookupEmails.map((e) => `/v3/profiles?email=${encodeURIComponent(e)}`);
    const lookupSpec: LoadSpec = { baseUrl: server.url, headers: { 'x-api-key': priv }, mode: 'closed', concurrency: o.concurrency, expectStatus: 200, requests: { method: 'GET', paths: lookupPaths } };
    await runLoad({ ...lookupSpec, durationMs: 2000, cycle: true, minRequests: 0 }); // warm-up
    const lookupMaxRun = await rec.run('lookup-max', () => runLoad({ ...lookupSpec, durationMs: o.lookupSeconds * 1000, cycle: true, minRequests: 0 }));
    const lookupMax = loadSummary(lookupMaxRun);
    log(`lookup max: ${fmtInt(lookupMax.itemsPerSec)} req/s at ${o.concurrency} connections (p50 ${fmtMs(lookupMax.p50Ms)}, p99 ${fmtMs(lookupMax.p99Ms)}; non-200: ${lookupMax.failed})`);
    const lookupRate = lookupMax.itemsPerSec / 2;
    const lookupFixed = fixedRunSummary(
      await rec.run('lookup-fixed', () => withStallWatch(stallWatch, () => runLoad({ ...lookupSpec, mode: 'open', rate: lookupRate, durationMs: o.lookupSeconds * 1000, warmupMs: OPEN_LOOP_WARMUP_MS }))),
    );
    log(`lookup at ${fmtInt(lookupRate)} req/s: p50 ${fmtMs(lookupFixed.p50Ms)}, p99 ${fmtMs(lookupFixed.p99Ms)}; ${describeSlowest(lookupFixed.slowest, lookupFixed.generatorStalls)}`);

    // --- ceiling Q: the route's look-up call straight through pg (Q1: a statement per look-up), same emails and concurrency
    const lookupCeiling = await rec.run('ceiling-lookup', () => ceilingLookup(dbUrl, tenant, lookupEmails, o.concurrency, o.lookupSeconds));
    log(`ceiling Q: ${fmtInt(lookupCeiling.reqPerSec)} req/s at ${o.concurrency} in flight, pool ${lookupCeiling.poolSize} (p50 ${fmtMs(lookupCeiling.p50Ms)}, p99 ${fmtMs(lookupCeiling.p99Ms)}; found ${lookupCeiling.found}/${lookupCeiling.requests})`);
    const lookupSingle = await rec.run('ceiling-lookup-single', () => ceilingLookup(dbUrl, tenant, lookupEmails, o.concurrency, o.lookupSeconds, 'one-per-statement'));
    log(`ceiling Q1 (a statement per look-up): ${fmtInt(lookupSingle.reqPerSec)} req/s (p50 ${fmtMs(lookupSingle.p50Ms)}, p99 ${fmtMs(lookupSingle.p99Ms)})`);

    // --- search (bench/search-phase.ts): the native listing over the projected population -----------
    const search: SearchPhaseResult | { error: string } = await runSearchPhase({
      baseUrl: server.url, key: priv, db, concurrency: o.concurrency, seconds: o.lookupSeconds, warmupMs: OPEN_LOOP_WARMUP_MS, phase: (name, work) => rec.run(name, work), summarize: loadSummary, log,
    }).catch((e: unknown) => ({ error: e instanceof Error ? e.message : String(e) }));
    if ('error' in search) log(`search phase failed: ${search.error}`);

    // --- end to end: new people, projector running ----------------------------------------------
    const e2ePop = generatePopulation({ people: o.e2ePeople, prefix: 'e', seed: o.seed + 1, batchSize: o.batch });
    const e2eBefore = await logPosition(db);
    const lagTimeline: Array<{ t: number; end: number; applied: number }> = [];
    let e2eLoad: LoadResult | undefined;
    const e2eDrained = await rec.run('end-to-end', async () => {
      const t0 = nowMs();
      let posting = true;
      const sampler = (async () => {
        while (posting) {
          const p = await logPosition(db);
          lagTimeline.push({ t: round((nowMs() - t0) / 1000, 2), end: p.end - e2eBefore.end, applied: p.applied - e2eBefore.applied });
          await sleep(500);
        }
      })();
      e2eLoad = await runLoad(postSpec(server!.url, pub, e2ePop, o, { mode: 'closed' }));
      posting = false;
      await sampler;
      const after = await logPosition(db);
      const done = await waitApplied(db, {
        target: after.end,
        timeoutMs: o.drainTimeoutSeconds * 1000,
        intervalMs: 50,
        onPoll: (p, at) => {
          if (lagTimeline.length === 0 || at - t0 - lagTimeline[lagTimeline.length - 1]!.t * 1000 >= 500) {
            lagTimeline.push({ t: round((at - t0) / 1000, 2), end: p.end - e2eBefore.end, applied: p.applied - e2eBefore.applied });
          }
        },
      });
      return { ...done, t0, postedEndMs: e2eLoad.endMs, lagAtPostEnd: after.end - after.applied };
    });
    const e2eSummary = loadSummary(e2eLoad!);
    const e2eItems = e2eDrained.position.applied - e2eBefore.applied;
    const endToEnd = {
      profilesPerSec: round((e2eItems * 1000) / (e2eDrained.atMs - e2eDrained.t0)),
      items: e2eItems,
      posted: e2ePop.items.length,
      seconds: round((e2eDrained.atMs - e2eDrained.t0) / 1000, 2),
      ingestItemsPerSec: round((e2eLoad!.items * 1000) / (e2eDrained.postedEndMs - e2eDrained.t0)),
      postingSeconds: round((e2eDrained.postedEndMs - e2eDrained.t0) / 1000, 2),
      lagAtPostingEnd: e2eDrained.lagAtPostEnd,
      complete: e2eDrained.complete,
      failedRequests: e2eSummary.failed,
      timeline: lagTimeline,
    };
    log(
      `end to end: ${fmtInt(endToEnd.profilesPerSec)} upserts/s (${fmtInt(e2eItems)} items in ${endToEnd.seconds} s; ` +
        `posting took ${endToEnd.postingSeconds} s at ${fmtInt(endToEnd.ingestItemsPerSec)} items/s, lag then ${fmtInt(endToEnd.lagAtPostingEnd)})`,
    );

    // --- ingest-to-queryable latency at half the end-to-end rate --------------------------------
    const latItemsPerSec = endToEnd.profilesPerSec / 2;
    const neededItems = latItemsPerSec * o.queryableSeconds;
    const latPop = generatePopulation({ people: Math.ceil((neededItems / 1.43) * 1.2) + 200, prefix: 'q', seed: o.seed + 2, batchSize: o.batch });
    const latBodiesPerSec = latItemsPerSec / (latPop.items.length / latPop.bodies.length);
    // About 10 samples a second: the first identified item (a new email) of every k-th body.
    const every = Math.max(1, Math.round(latBodiesPerSec / 10));
    const sampleEmail: Array<string | undefined> = latPop.bodies.map((b, i) => {
      if (i % every !== 0) return undefined;
      for (let j = b.firstItem; j < b.firstItem + b.items; j++) {
        const it = latPop.items[j]!;
        if (it.kind === 'identified') return latPop.people[it.person]!.email;
      }
      return undefined;
    });
    const probeAgent = new Agent({ keepAlive: true, maxSockets: 16 });
    const samples: Array<Promise<number>> = [];
    // Halfway through, a checkpoint, as max_wal_size or checkpoint_timeout start one at any moment: the first
    // write to each page after it carries a full-page image, so every run measures across one.
    let checkpoint: Promise<{ atSec: number; ms: number }> | undefined;
    let lag: LagWatchResult | undefined;
    const latRun = await rec.run('queryable-latency', async () => {
      const spec = postSpec(server!.url, pub, latPop, o, { mode: 'open', rate: latBodiesPerSec, durationMs: o.queryableSeconds * 1000 });
      spec.requests.sample = sampleEmail.map(Boolean);
      const startedMs = nowMs();
      const lagWatch = watchLag(server!.url, PROJECTOR_GROUP, 100);
      const checkpointTimer = setTimeout(() => (checkpoint = forceCheckpoint(db, startedMs)), (o.queryableSeconds * 1000) / 2);
      const r = await runLoad(spec, (index, atMs) => {
          const email = index < latPop.bodies.length ? sampleEmail[index] : undefined;
        if (email) samples.push(pollFound(probeAgent, server!.url, priv, email, 20, 30_000).then((found) => found - atMs));
      });
      clearTimeout(checkpointTimer);
      await Promise.all(samples);
      lag = await lagWatch.stop();
      return r;
    });
    const checkpointDone = await checkpoint?.catch((e: unknown) => (log(`checkpoint during queryable-latency failed: ${e instanceof Error ? e.message : String(e)}`), undefined));
    probeAgent.destroy();
    const latValues = (await Promise.all(samples)).filter((v) => Number.isFinite(v));
    const lat = summarize(latValues);
    const latIngest = loadSummary(latRun, 0);
    const latency = {
      queryableP50Ms: round(lat.p50, 1),
      queryableP95Ms: round(lat.p95, 1),
      queryableP99Ms: round(lat.p99, 1),
      queryableMaxMs: round(lat.max, 1),
      samples: lat.count,
      timeouts: samples.length - latValues.length,
      rateItemsPerSec: round(latItemsPerSec),
      pollIntervalMs: 20,
      ingestP50Ms: latIngest.p50Ms,
      ingestP99Ms: latIngest.p99Ms,
      failedRequests: latIngest.failed,
      checkpointAtSec: checkpointDone ? round(checkpointDone.atSec, 1) : null,
      checkpointMs: checkpointDone ? round(checkpointDone.ms, 1) : null,
      // The projector's lag from the server's /metrics every 100 ms: the largest, and when (s after the phase began).
      lagMaxRecords: lag?.lagMaxRecords ?? null,
      lagMaxAtSec: lag?.lagMaxAtSec ?? null,
    };
    log(`ingest-to-queryable at ${fmtInt(latItemsPerSec)} items/s: p50 ${fmtMs(latency.queryableP50Ms)}, p95 ${fmtMs(latency.queryableP95Ms)}, max ${fmtMs(latency.queryableMaxMs)} (${lat.count} samples, ${latency.timeouts} timeouts; a CHECKPOINT at ${latency.checkpointAtSec ?? '—'} s took ${latency.checkpointMs ?? '—'} ms; projector lag max ${latency.lagMaxRecords ?? '—'} records at ${latency.lagMaxAtSec ?? '—'} s)`);

    // --- events: POST /v3/events (2 identifiers each), projector running ------------------------
    const evPop = generateEvents({ people: pop.people, events: o.events, batchSize: o.batch, seed: o.seed + 3, prefix: 'x' });
    const evBefore = await logPosition(db);
    const evStoredBefore = await storedEventCount(db);
    let evLoad: LoadResult | undefined;
    const evDrained = await rec.run('events', async () => {
      const t0 = nowMs();
      evLoad = await runLoad({
        baseUrl: server!.url,
        headers: { 'x-api-key': pub },
        mode: 'closed',
        concurrency: o.concurrency,
        expectStatus: 202,
        requests: { method: 'POST', paths: '/v3/events', bodies: evPop.bodies.map((b) => b.json), items: evPop.bodies.map((b) => b.items) },
      });
      const after = await logPosition(db);
      const done = await waitApplied(db, { target: after.end, timeoutMs: o.drainTimeoutSeconds * 1000, intervalMs: 50 });
      return { ...done, t0, postedEndMs: evLoad.endMs };
    });
    const evSummary = loadSummary(evLoad!);
    const evApplied = evDrained.position.applied - evBefore.applied;
    const evStoredAfter = await storedEventCount(db);
    const events = {
      perSec: round((evApplied * 1000) / (evDrained.atMs - evDrained.t0)),
      events: evApplied,
      posted: evPop.events,
      identifiersPerEvent: 2,
      kinds: evPop.counts,
      avgEventBytes: round(evPop.avgEventBytes),
      stored: evStoredAfter === null || evStoredBefore === null ? null : evStoredAfter - evStoredBefore,
      seconds: round((evDrained.atMs - evDrained.t0) / 1000, 2),
      ingestPerSec: round((evLoad!.items * 1000) / (evDrained.postedEndMs - evDrained.t0)),
      postingSeconds: round((evDrained.postedEndMs - evDrained.t0) / 1000, 2),
      p50Ms: evSummary.p50Ms,
      p99Ms: evSummary.p99Ms,
      complete: evDrained.complete,
      failedRequests: evSummary.failed,
    };
    log(
      `events: ${fmtInt(events.perSec)} events/s end to end (${fmtInt(evApplied)} events in ${events.seconds} s; posting took ` +
        `${events.postingSeconds} s at ${fmtInt(events.ingestPerSec)} events/s; ${events.stored ?? '?'} event rows stored${evDrained.complete ? '' : ', TIMED OUT'})`,
    );
    if (evSummary.failed) log(`events: non-202 answers ${JSON.stringify(evSummary.statusCounts)} ${evSummary.errorSamples.join(' | ')}`);
    const finalState = await projectionCounts(db);

    // --- memory, stop -----------------------------------------------------------------------------
    watcher.stop();
    serverPeakRss = watcher.peakMiB();
    await db.end();
    log(`server peak RSS ${serverPeakRss.toFixed(0)} MiB; stopping the server …`);
    const code = await server.stop('SIGTERM');
    if (code !== 0) log(`WARNING: server exited with ${code}:\n${server.output().slice(-2000)}`);
    serverLog = server.output();

    // --- replay -------------------------------------------------------------------------------------
    log('phase replay …');
    replay = await runReplay(dataDir, o, profileDir).catch((e: unknown) => {
      log(`replay failed: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    });
    if (replay) log(`replay: ${fmtInt(replay.recordsPerSec)} records/s (${fmtInt(replay.records)} records in ${replay.seconds} s; CLI peak RSS ${replay.peakRssMiB} MiB)`);

    Object.assign(results, {
      ingest: { itemsPerSec: ingestMax.itemsPerSec, p50Ms: ingestFixed.p50Ms, p99Ms: ingestFixed.p99Ms, fixedRateItemsPerSec: round(fixedItemsPerSec), maxRun: ingestMax, fixedRun: ingestFixed, projectorPaused: true },
      ceilings: {
        http: hRuns[0],
        db: { rowsPerSec: round(d.rowsPerSec), rows: d.rows, distinctRows: d.distinctRows, statements: d.statements, seconds: round(d.seconds, 2), batchSize: o.workerBatch, table: d.table },
        log: logCeiling,
        lookup: lookupCeiling,
        lookupOnePerStatement: lookupSingle,
      },
      projection: { ...projection, state: stateAfterProjection },
      endToEnd,
      latency,
      events,
      // The replay's own lines (where it sorted, a restart and why), without its progress lines.
      replay: replay ? { ...replay, output: undefined, notes: replayNotes(replay.output) } : { recordsPerSec: NaN, complete: false },
      lookup: {
        reqPerSec: lookupMax.itemsPerSec,
        p50Ms: lookupFixed.p50Ms,
        p99Ms: lookupFixed.p99Ms,
        fixedRateReqPerSec: round(lookupRate),
        p99AtMaxMs: lookupMax.p99Ms,
        maxRun: lookupMax,
        fixedRun: lookupFixed,
      },
      search,
      memory: { peakRssMiB: round(serverPeakRss), postgresPeakPssMiB: round(watcher.peakPostgresPssMiB) },
      finalState,
    });
  } finally {
    if (server && server.process.exitCode === null && server.process.signalCode === null) await server.stop('SIGTERM').catch(() => undefined);
    server = undefined;
    if (!o.keepData) {
      const { rmSync } = await import('node:fs');
      rmSync(dataDir, { recursive: true, force: true });
    } else log(`data kept in ${dataDir}`);
  }

  await measureH('end');
  if (o.kafka === 'auto') results.kafka = await kafkaPhase(o);
  const bestH = hRuns.reduce((a, b) => (b.itemsPerSec > a.itemsPerSec ? b : a));
  (results.ceilings as Record<string, unknown>).http = { ...bestH, runs: hRuns.map((x) => ({ itemsPerSec: x.itemsPerSec, otherCores: x.otherCores })) };
  const r = results as {
    ingest: { itemsPerSec: number };
    ceilings: { http: HttpCeiling; db: { rowsPerSec: number }; log: LogCeiling; lookup: LookupCeiling; lookupOnePerStatement?: LookupCeiling; ingest?: { itemsPerSec: number; bound: 'H' | 'L' } };
    projection: { profilesPerSec: number };
    endToEnd: { profilesPerSec: number };
    replay: { recordsPerSec: number };
    lookup: { reqPerSec: number };
  };
  // Ingest's ceiling is the lower of H (HTTP alone) and L (the log alone): it can be no faster than either.
  const ingestBound = r.ceilings.log.recordsPerSec < r.ceilings.http.itemsPerSec ? 'L' : 'H';
  r.ceilings.ingest = { itemsPerSec: Math.min(r.ceilings.http.itemsPerSec, r.ceilings.log.recordsPerSec), bound: ingestBound };
  const D = r.ceilings.db.rowsPerSec;
  const ratios = {
    ingest: round(r.ingest.itemsPerSec / r.ceilings.ingest.itemsPerSec, 3),
    ingestToH: round(r.ingest.itemsPerSec / r.ceilings.http.itemsPerSec, 3),
    projection: round(r.projection.profilesPerSec / D, 3),
    endToEnd: round(r.endToEnd.profilesPerSec / D, 3),
    replay: round(r.replay.recordsPerSec / D, 3),
    lookup: round(r.lookup.reqPerSec / r.ceilings.lookup.reqPerSec, 3),
    // Against a statement per look-up (Q1, the ceiling before look-ups were batched): for comparison only.
    lookupToQ1: r.ceilings.lookupOnePerStatement ? round(r.lookup.reqPerSec / r.ceilings.lookupOnePerStatement.reqPerSec, 3) : undefined,
  };
  const full: Record<string, unknown> = {
    date: stamp,
    benchSeconds: round((nowMs() - benchStart) / 1000, 1),
    profiled: o.profile,
    machine: { ...startMachine, loadAverage1mAtEnd: loadAverage() },
    population: populationSummary,
    ...results,
    ratios,
    phases: rec.phases,
  };
  full.targets = Object.fromEntries(
    Object.entries(TARGETS).map(([path, t]) => {
      const value = pathValue(full, path);
      const met = Number.isFinite(value) && (t.min !== undefined ? value >= t.min : value < t.max!);
      const entry: Record<string, unknown> = { figure: t.figure, value, ...(t.min !== undefined ? { min: t.min } : { max: t.max }), met };
      if (t.measured) entry.measured = { path: t.measured.path, value: pathValue(full, t.measured.path), unit: t.measured.unit };
      if (t.ceiling) entry.ceiling = { name: t.ceiling.name, path: t.ceiling.path, value: pathValue(full, t.ceiling.path), unit: t.ceiling.unit };
      if (t.at) entry.at = { path: t.at.path, value: pathValue(full, t.at.path), unit: t.at.unit };
      return [path, entry];
    }),
  );

  if (profileDir) full.profile = analyseProfiles(profileDir, rec.phases, serverSpawnMs);

  const file = join(o.out, `${fileStamp}.json`);
  writeFileSync(file, `${JSON.stringify(full, null, 2)}\n`);
  serverLog = withoutStartBanner(serverLog);
  if (serverLog.trim()) {
    writeFileSync(join(o.out, `${fileStamp}-server.log`), serverLog);
    log(`the server logged ${serverLog.trim().split('\n').length} lines at warn level or above: ${fileStamp}-server.log`);
  }
  printTable(full);
  log(`results: ${file}`);
  if (profileDir) log(`profiles and analysis: ${profileDir}`);
}

function analyseProfiles(dir: string, phases: Record<string, PhaseRecord>, serverSpawnMs: number): Record<string, unknown> {
  const out: Record<string, unknown> = { dir };
  const md: string[] = [
    '# Tessera bench — CPU profile analysis',
    '',
    'The V8 profiler samples on a wall-clock interval: "main thread busy" is the share of samples not idle, and time the',
    'thread spent runnable but without a CPU (the machine oversubscribed) is attributed to the frame on top, often',
    '`writev`/syscalls. Compare it with the process CPU measured from /proc, given per phase below.',
    '',
  ];
  const serverFile = join(dir, 'server.cpuprofile');
  const summary = (a: WindowAnalysis) => ({ busyPct: a.busyPct, categories: a.categories.slice(0, 12), selfTop: a.selfTop.slice(0, 15), tesseraInclusiveTop: a.tesseraInclusiveTop.slice(0, 12) });
  if (existsSync(serverFile)) {
    const reader = new ProfileReader(serverFile);
    out.clockSkewMs = round(reader.startMs - serverSpawnMs, 1);
    md.push(`Server profile starts ${out.clockSkewMs} ms after the bench spawned the server (same monotonic clock).`, '');
    const analyses: Record<string, unknown> = {};
    for (const name of ['ingest-max', 'ingest-fixed', 'projection', 'ceiling-db', 'lookup-max', 'search-max', 'end-to-end', 'queryable-latency']) {
      const p = phases[name];
      if (!p) continue;
      const a = reader.analyse(p.startMs, p.endMs, 30);
      analyses[name] = summary(a);
      md.push(renderAnalysis(`server — ${name}`, a, 20));
      md.push(
        `CPU from /proc in ${name}: server ${p.cpu.serverCores} cores, PostgreSQL ${p.cpu.postgresCores}, bench ${p.cpu.benchCores}, other processes ${p.cpu.otherCores}` +
          (p.serverCpuFromTrace ? `; server event-loop utilisation ${p.serverCpuFromTrace.eventLoopUtilisation}` : ''),
        '',
      );
      if (name === 'projection') md.push('Note: the first checkpoint statement (`SELECT next_offset … FOR UPDATE`) of this window waited for the bench\'s pause lock since the ingest phases; its count is right, its time is not.', '');
      if (p.pgStatements) {
        md.push(`PostgreSQL time per statement in ${name} (pg_stat_statements: server-side execution + planning, all sessions incl. the bench's)`, '', '| statement | calls | exec ms | plan ms | mean ms | rows |', '|---|---:|---:|---:|---:|---:|');
        for (const x of p.pgStatements.slice(0, 12)) md.push(`| ${x.statement.slice(0, 110).replace(/\|/g, '\\|')} | ${x.calls} | ${x.execMs} | ${x.planMs} | ${x.meanMs} | ${x.rows} |`);
        md.push('');
      }
      if (p.sql) {
        md.push(`SQL round trips in ${name}: ${p.sqlRoundTrips} (${round((p.sqlRoundTrips ?? 0) / p.seconds)} /s)`, '', '| statement | count | total ms | avg ms | rows |', '|---|---:|---:|---:|---:|');
        for (const s of p.sql.slice(0, 12)) md.push(`| ${s.statement.slice(0, 110).replace(/\|/g, '\\|')} | ${s.count} | ${s.totalMs} | ${s.avgMs} | ${s.rows} |`);
        md.push('');
      }
    }
    out.server = analyses;
  } else md.push('server.cpuprofile missing (the server did not exit cleanly?)', '');
  const replayFile = join(dir, 'replay.cpuprofile');
  if (existsSync(replayFile)) {
    const reader = new ProfileReader(replayFile);
    const a = reader.analyse(reader.startMs, reader.endMs, 30);
    out.replay = summary(a);
    md.push(renderAnalysis('replay CLI — whole run', a, 20));
  }
  const replayTrace = join(dir, 'replay-sql-trace.json');
  if (existsSync(replayTrace)) {
    const end = JSON.parse(readFileSync(replayTrace, 'utf8')) as PgTraceSnapshot;
    const empty: PgTraceSnapshot = { ...end, statements: {} };
    const sql = diffTrace(empty, end);
    out.replaySql = sql.slice(0, 12);
    md.push(`SQL round trips of the replay CLI: ${sql.reduce((n, x) => n + x.count, 0)}`, '', '| statement | count | total ms | avg ms | rows |', '|---|---:|---:|---:|---:|');
    for (const x of sql.slice(0, 12)) md.push(`| ${x.statement.slice(0, 110).replace(/\|/g, '\\|')} | ${x.count} | ${x.totalMs} | ${x.avgMs} | ${x.rows} |`);
    md.push('');
  }
  out.files = readdirSync(dir);
  writeFileSync(join(dir, 'analysis.md'), md.join('\n'));
  return out;
}

function printTable(full: Record<string, unknown>): void {
  const get = (path: string) => pathValue(full, path);
  const show = (v: number) => (!Number.isFinite(v) ? String(v) : Math.abs(v) < 10 ? String(round(v, 3)) : fmtInt(v));
  const m = full.machine as { cpus: number; cpuModel: string; memoryGiB: number; node: string };
  console.log('');
  console.log(`Tessera bench ${full.date} — ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, node ${m.node}${full.profiled ? ' (profiled run: --cpu-prof + SQL trace)' : ''}`);

  // The issue-12 targets: each figure with the ceiling (or the rate) of this run it is measured against.
  type Entry = { figure: string; value: number; min?: number; max?: number; met: boolean; measured?: { value: number; unit: string }; ceiling?: { name: string; path: string; value: number; unit: string }; at?: { value: number; unit: string } };
  const targets = full.targets as Record<string, Entry>;
  const trows: string[][] = Object.values(targets).map((t) => {
    const latency = t.max !== undefined && t.figure !== 'server peak RSS';
    const value = t.ceiling ? show(t.value) : `${latency ? (Number.isFinite(t.value) ? t.value.toFixed(1) : String(t.value)) : show(t.value)} ${t.figure === 'server peak RSS' ? 'MiB' : 'ms'}`;
    const measured = t.measured ? `${fmtInt(t.measured.value)} ${t.measured.unit}` : t.at ? `at ${fmtInt(t.at.value)} ${t.at.unit}` : '';
    const ceiling = !t.ceiling
      ? ''
      : t.ceiling.path === 'ceilings.ingest.itemsPerSec'
        ? `min(H ${fmtInt(get('ceilings.http.itemsPerSec'))}, L ${fmtInt(get('ceilings.log.recordsPerSec'))}) ${t.ceiling.unit}`
        : `${t.ceiling.name} = ${fmtInt(t.ceiling.value)} ${t.ceiling.unit}`;
    const target = t.min !== undefined ? `≥ ${t.min}` : `< ${t.max}`;
    return [t.figure, value, measured, ceiling, target, t.met ? 'met' : 'MISSED'];
  });
  printRows(['target (issue 12)', 'value', 'measured', 'ceiling (same run)', 'target', ''], trows, [1]);

  // Every other figure of the run, absolute.
  const rows: string[][] = [];
  const add = (label: string, path: string, unit: string, fmt: (v: number) => string = fmtInt) => rows.push([label, `${fmt(get(path))} ${unit}`.trim()]);
  const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : String(v));
  add('ingest max (POST, 100/body, 50 conn)', 'ingest.itemsPerSec', 'items/s');
  add('ingest p50 at half max', 'ingest.p50Ms', 'ms', ms);
  add('ceiling H (bare Fastify, same bodies)', 'ceilings.http.itemsPerSec', 'items/s');
  add('ceiling L (log append, no HTTP)', 'ceilings.log.recordsPerSec', 'records/s');
  add('ratio ingest / H', 'ratios.ingestToH', '', show);
  add('projection (drain pre-filled log)', 'projection.profilesPerSec', 'profiles/s');
  add('ceiling D (unnest upsert, profiles-shaped table)', 'ceilings.db.rowsPerSec', 'rows/s');
  add('end to end (POST → queryable)', 'endToEnd.profilesPerSec', 'upserts/s');
  add('ingest→queryable p50 at half e2e', 'latency.queryableP50Ms', 'ms');
  add('events end to end (POST → applied, 2 ids)', 'events.perSec', 'events/s');
  add('replay from offset 0', 'replay.recordsPerSec', 'records/s');
  add('lookup GET ?email= (50 conn)', 'lookup.reqPerSec', 'req/s');
  add('ceiling Q (the route\'s look-up call via pg)', 'ceilings.lookup.reqPerSec', 'req/s');
  add('ceiling Q1 (a statement per look-up via pg)', 'ceilings.lookupOnePerStatement.reqPerSec', 'req/s');
  add('search (status+city, updated_at desc, 50 conn)', 'search.maxPerSec', 'req/s');
  add('search p50 / max at half max', 'search.p50Ms', 'ms', ms);
  rows[rows.length - 1]![1] = `${ms(get('search.p50Ms'))} / ${ms(get('search.maxMs'))} ms`;
  const k = full.kafka as { endToEnd?: { profilesPerSec: number } } | undefined;
  if (k?.endToEnd) add('Kafka end to end (POST → queryable)', 'kafka.endToEnd.profilesPerSec', 'upserts/s');
  console.log('');
  printRows(['other figures', 'value'], rows, [1]);
  const phases = full.phases as Record<string, PhaseRecord>;
  console.log('');
  console.log('CPU by process per phase (cores busy on average; the machine has ' + m.cpus + '):');
  for (const [name, p] of Object.entries(phases)) {
    console.log(
      `  ${name.padEnd(18)} ${String(p.seconds).padStart(7)} s   server ${p.cpu.serverCores.toFixed(2)}   postgres ${p.cpu.postgresCores.toFixed(2)}   bench ${p.cpu.benchCores.toFixed(2)}   other ${p.cpu.otherCores.toFixed(2)}   iowait ${p.cpu.iowaitCores.toFixed(2)}` +
        (p.db ? `   commits/s ${fmtInt(p.db.commitsPerSec)}   WAL ${p.db.walMiBPerSec} MiB/s` : '') +
        (p.sqlRoundTrips !== undefined ? `   SQL round trips ${fmtInt(p.sqlRoundTrips)}` : ''),
    );
  }
  if (full.kafka) printKafkaRows(full.kafka as KafkaPhaseResult | { skipped: string });
  console.log(`bench took ${full.benchSeconds} s`);
}

/** A markdown table; columns in `right` are right-aligned. */
function printRows(header: string[], rows: string[][], right: number[] = []): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${header.map((_, i) => (right.includes(i) ? (r[i] ?? '').padStart(widths[i]!) : (r[i] ?? '').padEnd(widths[i]!))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

/** The Kafka phase, or why it was skipped (no java / mvn here, or the broker failed: the rest of the run still counts). */
async function kafkaPhase(o: Options): Promise<KafkaPhaseResult | { skipped: string }> {
  const unavailable = kafkaPhaseUnavailable();
  if (unavailable) {
    log(`phase kafka skipped: ${unavailable}`);
    return { skipped: unavailable };
  }
  log('phase kafka …');
  try {
    const r = await runKafkaPhase(
      { people: o.kafkaPeople, logRecords: Math.max(10_000, Math.min(100_000, Math.round(o.people / 2))), concurrency: o.concurrency, batch: o.batch, seed: o.seed, drainTimeoutSeconds: o.drainTimeoutSeconds },
      log,
    );
    log(`phase kafka done in ${r.seconds} s`);
    return r;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`phase kafka failed: ${message}`);
    return { skipped: `failed: ${message.slice(0, 500)}` };
  }
}

function printKafkaRows(k: KafkaPhaseResult | { skipped: string }): void {
  console.log('');
  if ('skipped' in k) {
    console.log(`Kafka phase skipped: ${k.skipped}`);
    return;
  }
  console.log(`On Kafka (single-node Apache Kafka ${k.broker.version}, JVM broker from the Maven jars; phase took ${k.seconds} s):`);
  console.log(`  log alone: produce ${fmtInt(k.log.produceRecordsPerSec)} records/s, consume ${fmtInt(k.log.consumeRecordsPerSec)} records/s (${fmtInt(k.log.records)} records of ${k.log.recordBytes} B, batches of ${k.log.batch}; broker ${k.log.brokerCores} cores)`);
  const e = k.endToEnd;
  console.log(
    `  end to end (POST → queryable) on Kafka: ${fmtInt(e.profilesPerSec)} upserts/s (${fmtInt(e.items)} items in ${e.seconds} s, ${e.partitions} partitions; ` +
      `posting ${fmtInt(e.ingestItemsPerSec)} items/s; broker ${e.brokerCores} cores${e.complete ? '' : '; INCOMPLETE'})`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
