const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;

/**
 * A duration as people write it in an environment variable: `24h`, `90m`, `3600s`, `500ms`, `7d`, or a
 * bare number of milliseconds. `undefined` for anything else (negative, empty, `1h30m`, `abc`), so the
 * caller names the variable in its error. The result is a whole number of milliseconds.
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const ms = Math.round(Number(match[1]) * UNIT_MS[(match[2] ?? 'ms') as keyof typeof UNIT_MS]);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Allowed browser origins: `*` (any), or exact origins `scheme://host[:port]` (no path, no trailing slash). */
export type CorsOrigins = '*' | string[];

const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::\d{1,5})?$/i;

/**
 * `TESSERA_CORS_ORIGINS`: `*`, or a comma-separated list of origins. Browsers send the Origin header
 * in lower case, so the list is compared in lower case. `undefined` when an item is not an origin.
 */
export function parseCorsOrigins(text: string): CorsOrigins | undefined {
  if (text.trim() === '*') return '*';
  const items = text.split(',').map((item) => item.trim());
  if (items.some((item) => !ORIGIN.test(item) || Number(/:(\d+)$/.exec(item)?.[1] ?? 0) > 65535)) return undefined;
  return [...new Set(items.map((item) => item.toLowerCase()))];
}
