// 'min' metadata: `isPossible` needs only each region's possible lengths, which it carries; 'max' adds
// the per-type patterns that only `isValid`/`getType` use, at about twice the size.
import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/min';
import { LRUCache } from 'lru-cache';

/**
 * Phone numbers (DESIGN §5): E.164, parsed with the tenant's default region; a number that is not
 * *possible* for its region (right length, libphonenumber's `isPossible`, not `isValid`) is refused.
 */

export const DEFAULT_REGION = 'US';

export type PhoneResult = { ok: true; value: string } | { ok: false; reason: string };

export function isSupportedRegion(region: string): boolean {
  return isSupportedCountry(region);
}

export function phoneReason(region: string): string {
  return `must be a possible phone number: E.164 (+15558675309) or a national number of the tenant's default region ${region}`;
}

export const REASON_PHONE_EXTENSION = 'must be a phone number without an extension';

// A parse costs 5–20 µs (libphonenumber-js); the same people's numbers come back again and again.
const CACHE_SIZE = 20_000;
const caches = new Map<string, LRUCache<string, PhoneResult>>();

// The most common shape skips libphonenumber: a North American number (NANP) with its area code 2–9, written
// `+1` and ten digits (any region), or as the ten digits alone under the default region US, grouped 3-3-4 with
// at most one space, dot or hyphen between groups and the area code optionally in parentheses. libphonenumber
// parses every such text to +1 and the same ten digits, always possible (every NANP region has length 10; a
// first digit 2–9 leaves no national prefix to strip): phone-number.spec checks the two agree on all area codes.
// A parse costs 20–40 µs and misses the cache for every new person; this costs under 1 µs.
const NANP_INTERNATIONAL = /^\+1[ .-]?(?:\(([2-9]\d\d)\)|([2-9]\d\d))[ .-]?(\d{3})[ .-]?(\d{4})$/;
const NANP_NATIONAL = /^(?:\(([2-9]\d\d)\)|([2-9]\d\d))[ .-]?(\d{3})[ .-]?(\d{4})$/;

/** E.164 of a NANP text of the fast shapes above, else undefined (then libphonenumber decides). */
export function nanpFastPath(trimmed: string, region: string): string | undefined {
  const m = trimmed.charCodeAt(0) === 0x2b /* + */ ? NANP_INTERNATIONAL.exec(trimmed) : region === 'US' ? NANP_NATIONAL.exec(trimmed) : null;
  return m === null ? undefined : `+1${m[1] ?? m[2]}${m[3]}${m[4]}`;
}

/** E.164 of a trimmed phone text under `region` (a supported ISO 3166-1 alpha-2 code). */
export function normalisePhone(trimmed: string, region: string): PhoneResult {
  const fast = nanpFastPath(trimmed, region);
  if (fast !== undefined) return { ok: true, value: fast };
  let cache = caches.get(region);
  if (cache === undefined) caches.set(region, (cache = new LRUCache({ max: CACHE_SIZE })));
  let result = cache.get(trimmed);
  if (result === undefined) {
    result = parsePhone(trimmed, region);
    cache.set(trimmed, result);
  }
  return result;
}

/** libphonenumber's answer (exported for the spec that holds the fast path to it). */
export function parsePhone(trimmed: string, region: string): PhoneResult {
  // extract: false — the whole text must be the number ("call 555-867-5309" is not one).
  const parsed = parsePhoneNumberFromString(trimmed, { defaultCountry: region as CountryCode, extract: false });
  if (parsed === undefined || !parsed.isPossible()) return { ok: false, reason: phoneReason(region) };
  // An extension names a desk behind a shared number: dropping it would merge everyone behind it.
  if (parsed.ext !== undefined) return { ok: false, reason: REASON_PHONE_EXTENSION };
  return { ok: true, value: parsed.number };
}
