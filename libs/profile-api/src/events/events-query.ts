import { decodeEventsCursor, EventsCursor } from './events-cursor';

export const EVENTS_PAGE = Object.freeze({ defaultLimit: 60, maxLimit: 500 });

const PARAMETERS: ReadonlySet<string> = new Set(['limit', 'cursor']);

export interface EventsQuery {
  limit: number;
  cursor: EventsCursor | null;
}

/** A query-string error: answered 400 naming the parameter (DESIGN §12: 422 is for bodies only). */
export interface ParameterProblem {
  parameter: string;
  message: string;
}

/** Reads `limit` (1–500, default 60) and `cursor`; any other parameter, or one given twice, is a problem. */
export function parseEventsQuery(query: Record<string, unknown>, profileId: string): { ok: true; query: EventsQuery } | { ok: false; problem: ParameterProblem } {
  for (const name of Object.keys(query)) {
    if (!PARAMETERS.has(name)) return { ok: false, problem: { parameter: name, message: 'is not a parameter of this route (limit, cursor)' } };
    if (typeof query[name] !== 'string') return { ok: false, problem: { parameter: name, message: 'must be given once' } };
  }
  let limit: number = EVENTS_PAGE.defaultLimit;
  if (query.limit !== undefined) {
    const text = query.limit as string;
    limit = /^[0-9]{1,4}$/.test(text) ? Number(text) : NaN;
    if (!(limit >= 1 && limit <= EVENTS_PAGE.maxLimit)) {
      return { ok: false, problem: { parameter: 'limit', message: `must be an integer from 1 to ${EVENTS_PAGE.maxLimit} (got ${JSON.stringify(text.slice(0, 20))})` } };
    }
  }
  let cursor: EventsCursor | null = null;
  if (query.cursor !== undefined) {
    const decoded = decodeEventsCursor(query.cursor as string, profileId);
    if (!decoded.ok) return { ok: false, problem: { parameter: 'cursor', message: decoded.message } };
    cursor = decoded.cursor;
  }
  return { ok: true, query: { limit, cursor } };
}
