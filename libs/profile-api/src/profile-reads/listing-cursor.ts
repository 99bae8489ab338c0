import { createHash } from 'node:crypto';
import type { SearchCondition, SortKey } from '@tessera/store';
import { decodeCursorToken, encodeCursorToken } from '../cursor-token';

/**
 * The `cursor` of a profile listing (DESIGN §12): where the previous page ended as the keyset of its
 * last profile (sort-key values, id last), and how many profiles came before the next page. Opaque to
 * clients (base64url JSON) and bound to the listing it was made for (filter, sort, limit, customer).
 */
export interface ListingCursor {
  /** Sort-key texts of the last profile of the previous page, id last. */
  after: string[];
  /** Profiles before the next page (its `offset`). */
  offset: number;
  binding: string;
}

const MAX_CURSOR_LENGTH = 4096;
const TS_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** What a cursor is bound to: the listing's canonical form (values normalised, defaults applied). */
export function listingBinding(parts: { conditions: readonly SearchCondition[]; sort: readonly SortKey[]; limit: number; customer?: string }): string {
  const canonical = JSON.stringify([parts.customer ?? null, parts.limit, parts.sort, parts.conditions]);
  return createHash('sha256').update(canonical, 'utf8').digest('base64url').slice(0, 16);
}

export function encodeListingCursor(cursor: ListingCursor): string {
  return encodeCursorToken({ k: cursor.after, o: cursor.offset, b: cursor.binding });
}

/** The form each sort key's text must have (a forged cursor must not reach PostgreSQL as a bad cast). */
export function validKeyText(field: SortKey['field']['kind'] | 'tiebreak', text: string): boolean {
  if (text.length > 2048 || text.includes('\u0000')) return false;
  if (field === 'created_at' || field === 'updated_at') return TS_KEY.test(text) && !Number.isNaN(Date.parse(text));
  if (field === 'attribute') {
    if (text.includes('\\u0000')) return false;
    try {
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  }
  return true;
}

export type ListingCursorParse = { ok: true; cursor: ListingCursor } | { ok: false; message: string };

/** Never throws; `keys` lists the sort-key kinds the listing expects (id tiebreak included). */
export function decodeListingCursor(raw: string, binding: string, keys: ReadonlyArray<SortKey['field']['kind']>): ListingCursorParse {
  const bad = { ok: false as const, message: 'is not a cursor of this listing (send the `next` of the previous page unchanged)' };
  const parsed = decodeCursorToken(raw, MAX_CURSOR_LENGTH);
  if (!parsed) return bad;
  const { k, o, b } = parsed;
  if (!Array.isArray(k) || typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0 || typeof b !== 'string') return bad;
  if (b !== binding) return { ok: false, message: 'was made for another filter, sort or limit (send it with the ones it was made with)' };
  if (k.length !== keys.length || !k.every((t, i) => typeof t === 'string' && validKeyText(keys[i], t))) return bad;
  return { ok: true, cursor: { after: k as string[], offset: o, binding: b } };
}
