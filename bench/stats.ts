/** Small numeric helpers shared by the benchmark modules. */

/** Milliseconds on the process-wide monotonic clock (the same clock in every thread, and V8's profile clock on Linux). */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Nearest-rank percentile of unsorted values (copied and sorted). */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(values: ArrayLike<number>): { count: number; p50: number; p95: number; p99: number; max: number; mean: number } {
  const n = values.length;
  if (n === 0) return { count: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  const at = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return { count: n, p50: at(50), p95: at(95), p99: at(99), max: sorted[n - 1]!, mean: sum / n };
}

/** The width of the windows slowestAnswers groups slow answers by. */
export const SLOW_WINDOW_MS = 100;

/**
 * Where a run's slowest 1 % of answers (those at or above its p99) came from: grouped by the 100 ms of
 * the run they completed in. A few windows holding them all is one stall (of the server, the database
 * or the machine); many windows, a tail spread over the run. `busiest`: up to five windows, most first.
 */
export function slowestAnswers(latencies: ArrayLike<number>, completedAt: ArrayLike<number>, startMs: number): {
  thresholdMs: number;
  answers: number;
  windows: number;
  busiest: Array<{ atS: number; answers: number; worstMs: number }>;
} {
  const { p99 } = summarize(latencies);
  const byWindow = new Map<number, { answers: number; worstMs: number }>();
  let answers = 0;
  for (let i = 0; i < latencies.length; i++) {
    if (!(latencies[i]! >= p99)) continue;
    answers++;
    const w = Math.floor((completedAt[i]! - startMs) / SLOW_WINDOW_MS);
    const slot = byWindow.get(w) ?? { answers: 0, worstMs: 0 };
    slot.answers++;
    slot.worstMs = Math.max(slot.worstMs, latencies[i]!);
    byWindow.set(w, slot);
  }
  const busiest = [...byWindow].sort((a, b) => b[1].answers - a[1].answers).slice(0, 5)
    .map(([w, x]) => ({ atS: round((w * SLOW_WINDOW_MS) / 1000, 1), answers: x.answers, worstMs: round(x.worstMs, 1) }));
  return { thresholdMs: round(p99, 2), answers, windows: byWindow.size, busiest };
}

export const round = (v: number, digits = 0) => (Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : v);

export function fmtInt(v: number): string {
  return Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : String(v);
}

export function fmtMs(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return v >= 100 ? `${Math.round(v)} ms` : `${v.toFixed(1)} ms`;
}
