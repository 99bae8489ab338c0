/**
 * A timeline of the machine during a fixed-rate phase, to say what a stall in its slowest answers was:
 * every `intervalMs` the server's longest event-loop delay since the previous sample (prom-client's
 * `nodejs_eventloop_lag_max_seconds`, reset by each scrape) and its garbage-collection pauses, the cores each process group used, and
 * what PostgreSQL's sessions were waiting on (pg_stat_activity). `around` picks the samples of one
 * slow window (stats.ts slowestAnswers) and the stall before it.
 */
import { Client } from 'pg';
import { cpuSnapshot, cpuUse, type CpuSnapshot } from './procstat';
import { gcDelta, gcTotals } from './server-gc';
import { sampleValue, scrapeMetrics } from './server-metrics';
import { nowMs, round, sleep, SLOW_WINDOW_MS } from './stats';

const LAG_MAX = 'nodejs_eventloop_lag_max_seconds ';
/**
 * Each sample scrapes the server's /metrics (≈ 18 KB, ≈ 3 ms round trip): 5 a second cost the server ≈ 1 % of its
 * thread, a small part of the tails it explains; 10 a second doubled that for little more resolution.
 */
const SAMPLE_INTERVAL_MS = 200;

export interface StallSample {
  /** Milliseconds on the bench's monotonic clock (stats.ts nowMs) when the sample was taken. */
  atMs: number;
  /** Longest delay of the server's event loop since the previous sample (its 10 ms timer's interval included). */
  eventLoopMaxMs: number;
  /** The server's garbage-collection pauses since the previous sample, ms by kind (prom-client's gc histogram). */
  gcMs: Record<string, number>;
  /**
   * Since the previous sample, from the server's own histograms, how many and how many slower than 50 / 10 ms:
   * log appends (produce until durably stored: the database's part of an ingest answer) and look-up answers as
   * the server timed them (from Fastify's start of the request, so not the time a request waited unread while
   * the event loop was held). A slow answer the server timed as quick waited before the server read it.
   */
  logAppends: { count: number; over50Ms: number };
  lookups: { count: number; over10Ms: number };
  /** Cores used since the previous sample. */
  cores: { server: number; postgres: number; bench: number; other: number; iowait: number };
  /** PostgreSQL sessions not idle, as `backend type: wait event × count` (a running query has wait event `CPU`). */
  postgres: string[];
}

// Background processes waiting in their own main loop are idle; a checkpoint writing or syncing is not.
const IDLE_WAITS = new Set(['CheckpointerMain', 'BgWriterMain', 'BgWriterHibernate', 'WalWriterMain', 'AutovacuumMain', 'LogicalLauncherMain', 'WalSummarizerWal', 'IoWorkerMain', 'ArchiverMain', 'SysLoggerMain']);

const ACTIVITY_SQL = `
  SELECT backend_type, coalesce(wait_event_type || ':' || wait_event, 'CPU') AS wait, count(*)::int AS n
    FROM pg_stat_activity
   WHERE pid <> pg_backend_pid() AND (backend_type <> 'client backend' OR state <> 'idle')
   GROUP BY 1, 2 ORDER BY 3 DESC`;

export function describeActivity(rows: Array<{ backend_type: string; wait: string; n: number }>): string[] {
  return rows
    .filter((r) => !IDLE_WAITS.has(r.wait.slice(r.wait.indexOf(':') + 1)))
    .map((r) => `${r.backend_type}: ${r.wait}${r.n > 1 ? ` × ${r.n}` : ''}`);
}

/** The largest `nodejs_eventloop_lag_max_seconds` in an exposition, in ms; NaN when absent. */
export function eventLoopMaxMs(exposition: string): number {
  for (const line of exposition.split('\n')) if (line.startsWith(LAG_MAX)) return round(sampleValue(line) * 1000, 1);
  return NaN;
}

interface Observed {
  count: number;
  over: number;
}

/** Observations of a prom-client histogram (the label sets holding `label`, all when none) and how many were above the bucket `le`. */
export function histogramOver(exposition: string, name: string, le: string, label = ''): Observed {
  let count = 0;
  let within = 0;
  const bucket = `${name}_bucket{le="${le}"`;
  const countLine = `${name}_count`;
  for (const line of exposition.split('\n')) {
    if (!line.includes(label)) continue;
    if (line.startsWith(bucket)) within += sampleValue(line);
    else if (line.startsWith(countLine)) count += sampleValue(line);
  }
  return { count, over: count - within };
}

function observedSince(before: Observed, after: Observed): Observed {
  return { count: Math.max(0, after.count - before.count), over: Math.max(0, after.over - before.over) };
}

const LOG_APPENDS = (text: string) => histogramOver(text, 'tessera_log_append_duration_seconds', '0.05');
const LOOKUPS = (text: string) => histogramOver(text, 'tessera_profile_read_duration_seconds', '0.01', 'operation="lookup"');

export function watchStalls(baseUrl: string, dbUrl: string, serverPid: number, intervalMs = SAMPLE_INTERVAL_MS): { stop(): Promise<StallSample[]> } {
  const samples: StallSample[] = [];
  let stopped = false;
  const db = new Client({ connectionString: dbUrl, application_name: 'tessera-bench-stall-watch' });
  db.on('error', () => undefined);
  const loop = (async () => {
    await db.connect();
    const text0 = (await scrapeMetrics(baseUrl)) ?? ''; // also resets the server's event-loop maximum
    let [gc0, appends0, lookups0] = [gcTotals(text0), LOG_APPENDS(text0), LOOKUPS(text0)];
    let cpu0: CpuSnapshot = cpuSnapshot(serverPid);
    while (!stopped) {
      await sleep(Math.max(0, intervalMs - (nowMs() - cpu0.atMs)));
      const [text, activity] = await Promise.all([scrapeMetrics(baseUrl), db.query(ACTIVITY_SQL).then((r) => r.rows, () => [])]);
      const cpu1 = cpuSnapshot(serverPid);
      const use = cpuUse(cpu0, cpu1);
      const [gc1, appends1, lookups1] = [gcTotals(text ?? ''), LOG_APPENDS(text ?? ''), LOOKUPS(text ?? '')];
      const appends = observedSince(appends0, appends1);
      const lookups = observedSince(lookups0, lookups1);
      samples.push({
        atMs: round(cpu1.atMs, 1),
        eventLoopMaxMs: eventLoopMaxMs(text ?? ''),
        gcMs: Object.fromEntries(Object.entries(gcDelta(gc0, gc1)).map(([kind, g]) => [kind, g.ms])),
        logAppends: { count: appends.count, over50Ms: appends.over },
        lookups: { count: lookups.count, over10Ms: lookups.over },
        cores: { server: round(use.serverCores, 2), postgres: round(use.postgresCores, 2), bench: round(use.benchCores, 2), other: round(use.otherCores, 2), iowait: round(use.iowaitCores, 2) },
        postgres: describeActivity(activity),
      });
      cpu0 = cpu1;
      if (text !== undefined) [gc0, appends0, lookups0] = [gc1, appends1, lookups1];
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop.finally(() => db.end().catch(() => undefined));
      return samples;
    },
  };
}

/**
 * The samples that cover one window of slow answers: from when the earliest such answer was sent (the window's
 * start less the worst latency) to the window's end; a sample covers the `intervalMs` before it was taken.
 * `atS` as stats.ts slowestAnswers gives it, relative to the run's `startMs`; each sample's time becomes seconds
 * after the run's start.
 */
export function around(
  samples: StallSample[],
  startMs: number,
  window: { atS: number; worstMs: number },
  intervalMs = SAMPLE_INTERVAL_MS,
): Array<Omit<StallSample, 'atMs'> & { atS: number }> {
  const windowStart = startMs + window.atS * 1000;
  const from = windowStart - window.worstMs;
  const to = windowStart + SLOW_WINDOW_MS;
  return samples
    .filter((s) => s.atMs > from && s.atMs - intervalMs < to)
    .map(({ atMs, ...rest }) => ({ atS: round((atMs - startMs) / 1000, 2), ...rest }));
}
