/**
 * The server's garbage collection per phase, from its own `/metrics` (prom-client's default
 * `nodejs_gc_duration_seconds` histogram, by kind): how many pauses and how long in all — what a
 * phase's tail latency or lost throughput owes to the collector.
 */
import { sampleValue, scrapeMetrics } from './server-metrics';
import { round } from './stats';

const GC_SUM = 'nodejs_gc_duration_seconds_sum{kind="';
const GC_COUNT = 'nodejs_gc_duration_seconds_count{kind="';

export type GcTotals = Record<string, { seconds: number; count: number }>;

/** Seconds and pauses by kind (minor, major, incremental, weakcb) in a Prometheus text exposition. */
export function gcTotals(exposition: string): GcTotals {
  const totals: GcTotals = {};
  for (const line of exposition.split('\n')) {
    const field = line.startsWith(GC_SUM) ? 'seconds' : line.startsWith(GC_COUNT) ? 'count' : undefined;
    if (!field) continue;
    const start = line.indexOf('"') + 1;
    const kind = line.slice(start, line.indexOf('"', start));
    (totals[kind] ??= { seconds: 0, count: 0 })[field] = sampleValue(line);
  }
  return totals;
}

/** The server's totals now; undefined when it does not answer (the replay phase runs without it). */
export async function scrapeGc(baseUrl: string): Promise<GcTotals | undefined> {
  const text = await scrapeMetrics(baseUrl);
  return text === undefined ? undefined : gcTotals(text);
}

/** Per kind between two scrapes: pauses and milliseconds. */
export function gcDelta(before: GcTotals, after: GcTotals): Record<string, { pauses: number; ms: number }> {
  const delta: Record<string, { pauses: number; ms: number }> = {};
  for (const [kind, a] of Object.entries(after)) {
    const b = before[kind] ?? { seconds: 0, count: 0 };
    if (a.count > b.count) delta[kind] = { pauses: a.count - b.count, ms: round((a.seconds - b.seconds) * 1000, 1) };
  }
  return delta;
}
