/**
 * The projector's consumer lag as the server's own `/metrics` reports it (`tessera_consumer_lag_records`, summed over
 * the projector group's partitions), scraped every `intervalMs` during a phase: the largest lag and when it was seen
 * say whether a slow sample of the phase was the projector falling behind (and when), not ingest or the look-up.
 */
import { sampleValue, scrapeMetrics } from './server-metrics';
import { nowMs, round, sleep } from './stats';

const LAG_METRIC = 'tessera_consumer_lag_records{';

export interface LagWatchResult {
  lagMaxRecords: number;
  /** Seconds after the watch started. */
  lagMaxAtSec: number;
  scrapes: number;
}

/** Sum of the projector group's lag lines in a Prometheus text exposition; NaN when it has none. */
export function projectorLag(exposition: string, group: string): number {
  let sum = NaN;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(LAG_METRIC) || !line.includes(`group="${group}"`)) continue;
    sum = (Number.isNaN(sum) ? 0 : sum) + sampleValue(line);
  }
  return sum;
}

export function watchLag(baseUrl: string, group: string, intervalMs: number): { stop(): Promise<LagWatchResult> } {
  const startedMs = nowMs();
  const result: LagWatchResult = { lagMaxRecords: 0, lagMaxAtSec: 0, scrapes: 0 };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const atMs = nowMs();
      const text = (await scrapeMetrics(baseUrl)) ?? '';
      const lag = projectorLag(text, group);
      if (Number.isFinite(lag)) {
        result.scrapes++;
        if (lag > result.lagMaxRecords) Object.assign(result, { lagMaxRecords: lag, lagMaxAtSec: round((atMs - startedMs) / 1000, 1) });
      }
      await sleep(Math.max(0, intervalMs - (nowMs() - atMs)));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return result;
    },
  };
}
