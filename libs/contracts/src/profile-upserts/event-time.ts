import { showValue } from './attribute-rules';

/**
 * The `ts` of a profile upsert (DESIGN §3): epoch seconds (a number below 10^11), epoch milliseconds
 * (a number from 10^11) or an ISO 8601 string. Accepted range: 1970-01-01T00:00:00.000Z to
 * 9999-12-31T23:59:59.999Z — negative epochs and e.g. microsecond epochs (which would land tens of
 * thousands of years ahead and win every last-writer-wins conflict forever) are refused.
 */

export const EPOCH_SECONDS_BELOW = 1e11;
export const MIN_EVENT_TIME_MS = 0;
export const MAX_EVENT_TIME_MS = 253402300799999; // 9999-12-31T23:59:59.999Z

/**
 * ISO 8601 extended format, strict: a calendar date `YYYY-MM-DD` (midnight UTC), or a date-time
 * `YYYY-MM-DDTHH:mm[:ss[.fraction]]` with a mandatory `Z` or `±hh:mm` offset (a time without an
 * offset would depend on the server's zone). Upper-case `T`/`Z` only; fraction of 1–9 digits.
 */
export const ISO_8601_EVENT_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):(\d{2})))?$/;

export const TS_RULE =
  '`ts` must be epoch seconds (a number below 10^11), epoch milliseconds (a number from 10^11) or an ISO 8601 ' +
  'date (YYYY-MM-DD) or date-time with an offset (e.g. 2024-05-01T12:00:00Z)';
export const TS_RANGE_RULE = '`ts` must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z';

/** How far after its receipt an item's `ts` may lie (DESIGN §3): clock skew, not a future that wins every later write. */
export const MAX_EVENT_TIME_AHEAD_MS = 3_600_000;
export const TS_FUTURE_RULE = '`ts` is more than 1 hour after the time the item was received';

export type EventTimeResult = { ok: true; ms: number } | { ok: false; message: string };

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Epoch milliseconds of a strict ISO 8601 string, NaN when it is not one (wrong shape or impossible date). */
export function parseIso8601(s: string): number {
  const m = ISO_8601_EVENT_TIME.exec(s);
  if (m === null) return NaN;
  const year = +m[1];
  const month = +m[2];
  const day = +m[3];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  if (m[4] === undefined) return utc(year, month, day, 0, 0, 0, 0);
  const hour = +m[4];
  const minute = +m[5];
  const second = m[6] === undefined ? 0 : +m[6];
  if (hour > 23 || minute > 59 || second > 59) return NaN;
  const millis = m[7] === undefined ? 0 : +`${m[7]}00`.slice(0, 3);
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const oh = +m[10];
    const om = +m[11];
    if (oh > 23 || om > 59) return NaN;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return utc(year, month, day, hour, minute, second, millis) - offsetMinutes * 60000;
}

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, ms);
  return date.getTime();
}

/** Interprets a `ts` value. Never throws. */
export function parseEventTime(value: unknown): EventTimeResult {
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { ok: false, message: `${TS_RULE} (got ${showValue(value)})` };
    if (value < 0) return { ok: false, message: `${TS_RANGE_RULE} (got ${showValue(value)})` };
    ms = value < EPOCH_SECONDS_BELOW ? Math.round(value * 1000) : Math.floor(value);
  } else if (typeof value === 'string') {
    ms = parseIso8601(value);
    if (Number.isNaN(ms)) return { ok: false, message: `${TS_RULE} (got ${showValue(value)})` };
  } else {
    return { ok: false, message: `${TS_RULE} (got ${showValue(value)})` };
  }
  if (!(ms >= MIN_EVENT_TIME_MS && ms <= MAX_EVENT_TIME_MS)) {
    return { ok: false, message: `${TS_RANGE_RULE} (got ${showValue(value)})` };
  }
  return { ok: true, ms };
}
