/** The server's own `/metrics` (Prometheus text), as the bench's watchers read it (lag-watch.ts, server-gc.ts). */

/** The exposition now; undefined when the server does not answer (the replay phase runs without it). */
export async function scrapeMetrics(baseUrl: string): Promise<string | undefined> {
  return fetch(`${baseUrl}/metrics`).then((r) => (r.ok ? r.text() : undefined), () => undefined);
}

/** The value of one sample line (`name{labels} value`). */
export function sampleValue(line: string): number {
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}
