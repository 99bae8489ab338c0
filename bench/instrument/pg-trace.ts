/**
 * Preloaded into the server (and the replay CLI) under `npm run bench -- --profile`
 * (NODE_OPTIONS=--require …; node 20 does not allow --cpu-prof there). Nothing in the app changes.
 *
 * - $BENCH_CPU_PROFILE: a V8 CPU profile of the whole process life (the inspector's Profiler, 1 ms
 *   sampling — what --cpu-prof does), written there when the process exits.
 * - $BENCH_PG_TRACE_FILE: counts the SQL round trips the process makes through node-postgres, per
 *   statement, with the time each waited for its answer, plus process CPU and event-loop utilisation;
 *   a cumulative snapshot is written there on SIGUSR2 (the bench diffs snapshots taken at phase
 *   boundaries) and at exit.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';

interface Entry {
  count: number;
  totalMs: number;
  maxMs: number;
  rows: number;
}

export interface PgTraceSnapshot {
  seq: number;
  atMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  eventLoop: { idle: number; active: number };
  heapUsedMiB: number;
  rssMiB: number;
  statements: Record<string, Entry>;
}

const file = process.env.BENCH_PG_TRACE_FILE;
const stats = new Map<string, Entry>();
let seq = 0;

function label(text: unknown): string {
  const sql = typeof text === 'string' ? text : typeof (text as { text?: unknown })?.text === 'string' ? (text as { text: string }).text : '<submittable>';
  return sql.replace(/\s+/g, ' ').trim().slice(0, 160);
}

function record(key: string, started: number, rows: number): void {
  const ms = Number(process.hrtime.bigint()) / 1e6 - started;
  let e = stats.get(key);
  if (!e) stats.set(key, (e = { count: 0, totalMs: 0, maxMs: 0, rows: 0 }));
  e.count++;
  e.totalMs += ms;
  if (ms > e.maxMs) e.maxMs = ms;
  e.rows += rows;
}

function rowsOf(result: unknown): number {
  if (Array.isArray(result)) return result.reduce((n: number, r) => n + ((r as { rowCount?: number })?.rowCount ?? 0), 0);
  return (result as { rowCount?: number } | undefined)?.rowCount ?? 0;
}

function install(): void {
  let pg: { Client: { prototype: { query: (...args: unknown[]) => unknown } } };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    pg = require(require.resolve('pg', { paths: [__dirname, process.cwd()] }));
  } catch {
    return;
  }
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function patchedQuery(this: unknown, ...args: unknown[]) {
    const config = args[0];
    if (config && typeof (config as { submit?: unknown }).submit === 'function') return original.apply(this, args);
    const key = label(config);
    const started = Number(process.hrtime.bigint()) / 1e6;
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = (err: unknown, res: unknown) => {
        record(key, started, err ? 0 : rowsOf(res));
        return (last as (e: unknown, r: unknown) => unknown)(err, res);
      };
      return original.apply(this, args);
    }
    const out = original.apply(this, args);
    if (out && typeof (out as Promise<unknown>).then === 'function') {
      (out as Promise<unknown>).then(
        (res) => record(key, started, rowsOf(res)),
        () => record(key, started, 0),
      );
    }
    return out;
  };
}

function snapshot(): void {
  if (!file) return;
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const out: PgTraceSnapshot = {
    seq: ++seq,
    atMs: Number(process.hrtime.bigint()) / 1e6,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    eventLoop: { idle: elu.idle, active: elu.active },
    heapUsedMiB: process.memoryUsage().heapUsed / 1048576,
    rssMiB: process.memoryUsage.rss() / 1048576,
    statements: Object.fromEntries(stats),
  };
  writeFileSync(`${file}.tmp`, JSON.stringify(out));
  renameSync(`${file}.tmp`, file);
}

function startCpuProfile(path: string): void {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  // The main thread's inspector session answers synchronously, so this works inside 'exit'.
  process.once('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (!err && result) writeFileSync(path, JSON.stringify(result.profile));
    });
  });
}

if (file) {
  install();
  process.on('SIGUSR2', snapshot);
  process.once('exit', snapshot);
}
if (process.env.BENCH_CPU_PROFILE) startCpuProfile(process.env.BENCH_CPU_PROFILE);
