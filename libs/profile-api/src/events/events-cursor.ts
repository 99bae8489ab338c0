import { decodeCursorToken, encodeCursorToken } from '../cursor-token';
/**
 * The `cursor` of GET /api/v1/profiles/{id}/events: where the previous page ended, keyset on
 * (ts, id) — stable while events are added (new ones are newer, so a walk neither repeats nor skips).
 * Opaque to clients (base64url JSON); bound to the profile id it was made for.
 */
export interface EventsCursor {
  /** The `{id}` of the request that made it (as requested, so a merge between pages does not break the walk). */
  profileId: string;
  /** The last event's ts with PostgreSQL's full (microsecond) precision, UTC. */
  ts: string;
  /** The last event's id. */
  id: string;
}

const TS_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const MAX_CURSOR_LENGTH = 1024;

export function encodeEventsCursor(cursor: EventsCursor): string {
  return encodeCursorToken({ p: cursor.profileId, t: cursor.ts, i: cursor.id });
}

export type EventsCursorParse = { ok: true; cursor: EventsCursor } | { ok: false; message: string };

/** Never throws; the message says what is wrong (answered as 400 naming `cursor`). */
export function decodeEventsCursor(raw: string, profileId: string): EventsCursorParse {
  const bad = { ok: false as const, message: 'is not a cursor this route made (send the `next` of the previous page unchanged)' };
  const parsed = decodeCursorToken(raw, MAX_CURSOR_LENGTH);
  if (!parsed) return bad;
  const { p, t, i } = parsed;
  if (typeof p !== 'string' || typeof t !== 'string' || typeof i !== 'string') return bad;
  if (!TS_KEY.test(t) || Number.isNaN(Date.parse(t)) || i.length === 0 || i.length > 128) return bad;
  if (p !== profileId) return { ok: false, message: 'was made for another profile' };
  return { ok: true, cursor: { profileId: p, ts: t, id: i } };
}
