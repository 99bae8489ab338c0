import { PROFILE_STATUSES } from '@tessera/contracts';
import type { SearchCondition, SearchField, SortKey } from '@tessera/store';
import { decodeListingCursor, listingBinding, type ListingCursor } from './listing-cursor';

/** Paging bounds of DESIGN §12. */
export const LISTING_PAGE = Object.freeze({ defaultLimit: 60, maxLimit: 500, maxOffset: 1_000_000, maxSortKeys: 5, maxConditions: 20 });

/** A query-string error: answered 400 naming the parameter (DESIGN §12: 422 is for bodies only). */
export interface ParameterProblem {
  parameter: string;
  message: string;
}

/** What the parser needs of the tenant's identifier rules (IdentifierRules fits). */
export interface IdentifierNormaliser {
  isIdentifier(type: string): boolean;
  normalise(type: string, raw: unknown): { ok: true; value: string } | { ok: false; blocked: true } | { ok: false; blocked: false; reason: string };
}

export interface ListingQuery {
  limit: number;
  offset: number;
  conditions: SearchCondition[];
  sort: SortKey[];
  cursor: ListingCursor | null;
  /** A filter no profile can match (a blocked identifier value, as a look-up answers 404). */
  matchesNothing: boolean;
  /** What a `next` cursor of this listing is bound to. */
  binding: string;
}

type Parse<T> = { ok: true; value: T } | { ok: false; problem: ParameterProblem };
const fail = (parameter: string, message: string): { ok: false; problem: ParameterProblem } => ({ ok: false, problem: { parameter, message } });

const PLAIN = new Set(['limit', 'offset', 'pageNumber', 'pageSize', 'cursor', 'sort', 'sort_by', 'sort_order', 'q']);
const FILTER = /^filter\[([^\]]*)\]$/;
/** Attribute names as /v3 accepts them (DESIGN §3); `$`-names are not reachable. */
const ATTRIBUTE_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const INTEGER = /^[0-9]{1,9}$/;
const JSON_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]{1,3})?$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const MAX_VALUE_LENGTH = 1024;

function integer(name: string, text: string, min: number, max: number): Parse<number> {
  const n = INTEGER.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) return fail(name, `must be an integer from ${min} to ${max} (got ${JSON.stringify(text.slice(0, 20))})`);
  return { ok: true, value: n };
}

/** Paging: `limit`+`offset`, or `pageNumber`+`pageSize`, or `cursor` (with the `limit` it was made with). */
export function parsePaging(query: Record<string, string>): Parse<{ limit: number; offset: number }> {
  const pageStyle = query.pageNumber !== undefined || query.pageSize !== undefined;
  if (pageStyle) {
    for (const other of ['limit', 'offset'] as const) {
      if (query[other] !== undefined) return fail(other, 'cannot be combined with pageNumber/pageSize (choose one paging style)');
    }
    if (query.cursor !== undefined && query.pageNumber !== undefined) return fail('pageNumber', 'cannot be combined with cursor (the cursor says where the page starts)');
    const size = query.pageSize === undefined ? { ok: true as const, value: LISTING_PAGE.defaultLimit } : integer('pageSize', query.pageSize, 1, LISTING_PAGE.maxLimit);
    if (!size.ok) return size;
    const maxPage = Math.floor(LISTING_PAGE.maxOffset / size.value) + 1;
    const page = query.pageNumber === undefined ? { ok: true as const, value: 1 } : integer('pageNumber', query.pageNumber, 1, maxPage);
    if (!page.ok) return page;
    return { ok: true, value: { limit: size.value, offset: (page.value - 1) * size.value } };
  }
  if (query.cursor !== undefined && query.offset !== undefined) return fail('offset', 'cannot be combined with cursor (the cursor says where the page starts)');
  const limit = query.limit === undefined ? { ok: true as const, value: LISTING_PAGE.defaultLimit } : integer('limit', query.limit, 1, LISTING_PAGE.maxLimit);
  if (!limit.ok) return limit;
  const offset = query.offset === undefined ? { ok: true as const, value: 0 } : integer('offset', query.offset, 0, LISTING_PAGE.maxOffset);
  if (!offset.ok) return offset;
  return { ok: true, value: { limit: limit.value, offset: offset.value } };
}

function sortField(name: string): SortKey['field'] | undefined {
  if (name === 'created_at' || name === 'updated_at' || name === 'id' || name === 'status') return { kind: name };
  return ATTRIBUTE_NAME.test(name) ? { kind: 'attribute', name } : undefined;
}

function direction(text: string | undefined): boolean | undefined {
  if (text === undefined) return false;
  const t = text.toLowerCase();
  return t === 'asc' ? false : t === 'desc' ? true : undefined;
}

/** `sort=field[:asc|desc][,…]` or `sort_by=field&sort_order=asc|desc`; default created_at ascending. */
export function parseSort(query: Record<string, string>): Parse<SortKey[]> {
  if (query.sort !== undefined) {
    if (query.sort_by !== undefined) return fail('sort_by', 'cannot be combined with sort (choose one sorting style)');
    if (query.sort_order !== undefined) return fail('sort_order', 'cannot be combined with sort (write `sort=field:desc`)');
    const parts = query.sort.split(',');
    if (parts.length > LISTING_PAGE.maxSortKeys) return fail('sort', `takes at most ${LISTING_PAGE.maxSortKeys} fields`);
    const keys: SortKey[] = [];
    for (const part of parts) {
      const [name, dir, extra] = part.split(':');
      const field = sortField(name);
      const desc = direction(dir);
      if (!field || extra !== undefined) return fail('sort', `has an invalid field ${JSON.stringify(part.slice(0, 70))} (created_at, updated_at, id, status or an attribute name, optionally :asc or :desc)`);
      if (desc === undefined) return fail('sort', `has an invalid direction in ${JSON.stringify(part.slice(0, 70))} (asc or desc)`);
      if (keys.some((k) => JSON.stringify(k.field) === JSON.stringify(field))) return fail('sort', `names ${name} twice`);
      keys.push({ field, desc });
    }
    return { ok: true, value: keys };
  }
  const desc = direction(query.sort_order);
  if (desc === undefined) return fail('sort_order', 'must be asc or desc');
  if (query.sort_by === undefined) return { ok: true, value: [{ field: { kind: 'created_at' }, desc }] };
  const field = sortField(query.sort_by);
  if (!field) return fail('sort_by', 'must be created_at, updated_at, id, status or an attribute name');
  return { ok: true, value: [{ field, desc }] };
}

interface RawCondition {
  parameter: string;
  name: string;
  value: string;
  /** Only in `q`: `value*` and `>=v` etc. mean what they say. */
  operators: boolean;
}

function searchField(name: string, rules: IdentifierNormaliser): SearchField | undefined {
  if (name === 'status' || name === 'tag') return { kind: name };
  if (name === 'created_at' || name === 'updated_at') return { kind: 'timestamp', column: name };
  if (rules.isIdentifier(name)) return { kind: 'identifier', type: name };
  return ATTRIBUTE_NAME.test(name) ? { kind: 'attribute', name } : undefined;
}

function comparison(value: string): { op: 'gt' | 'gte' | 'lt' | 'lte'; operand: string } | undefined {
  const m = /^(>=|<=|>|<)(.*)$/s.exec(value);
  if (!m) return undefined;
  return { op: ({ '>=': 'gte', '<=': 'lte', '>': 'gt', '<': 'lt' } as const)[m[1] as '>=' | '<=' | '>' | '<'], operand: m[2] };
}

const isIsoTime = (text: string) => ISO_TIME.test(text) && !Number.isNaN(Date.parse(text));

/** One `filter[field]=value` or `q` term as a search condition; `null`: can match nothing. */
function toCondition(raw: RawCondition, rules: IdentifierNormaliser): Parse<SearchCondition | null> {
  const { parameter, name, value } = raw;
  const field = searchField(name, rules);
  if (!field) return fail(parameter, `has an invalid field ${JSON.stringify(name.slice(0, 70))} (status, tag, created_at, updated_at, an identifier type or an attribute name)`);
  if (value.length === 0) return fail(parameter, `needs a value for ${name}`);
  if (value.length > MAX_VALUE_LENGTH || value.includes('\u0000')) return fail(parameter, `has an invalid value for ${name} (at most ${MAX_VALUE_LENGTH} characters, no NUL)`);
  const compared = raw.operators ? comparison(value) : undefined;
  if (compared) {
    const { op, operand } = compared;
    const kind = JSON_NUMBER.test(operand) ? 'number' : isIsoTime(operand) ? 'time' : undefined;
    if (!kind) return fail(parameter, `compares ${name} with ${JSON.stringify(operand.slice(0, 40))}: a number or an ISO time is needed`);
    if (field.kind === 'timestamp' && kind !== 'time') return fail(parameter, `compares ${name} with a number: an ISO time is needed`);
    if (field.kind !== 'timestamp' && field.kind !== 'attribute') return fail(parameter, `cannot compare ${name} (comparisons are for attributes, created_at and updated_at)`);
    return { ok: true, value: { field, op, value: operand, compare: kind } };
  }
  const prefix = raw.operators && value.endsWith('*');
  const text = prefix ? value.slice(0, -1) : value;
  if (prefix && text.length === 0) return fail(parameter, `needs a prefix before * for ${name}`);
  if (field.kind === 'timestamp') {
    if (prefix || !isIsoTime(text)) return fail(parameter, `needs an ISO time for ${name}`);
    return { ok: true, value: { field, op: 'eq', value: text } };
  }
  if (field.kind === 'status' && !prefix && !(PROFILE_STATUSES as readonly string[]).includes(text)) {
    return fail(parameter, `has an invalid status ${JSON.stringify(text.slice(0, 40))} (${PROFILE_STATUSES.join(', ')})`);
  }
  if (field.kind === 'identifier') {
    // As a look-up: the value normalised; a blocked one (e.g. "null") matches no profile.
    if (prefix) return { ok: true, value: { field, op: 'prefix', value: text.trim() } };
    const normalised = rules.normalise(field.type, text);
    if (!normalised.ok) return normalised.blocked ? { ok: true, value: null } : fail(parameter, `has an invalid ${name}: ${normalised.reason}`);
    return { ok: true, value: { field, op: 'eq', value: normalised.value } };
  }
  return { ok: true, value: { field, op: prefix ? 'prefix' : 'eq', value: text } };
}

/** `filter[field]=value` parameters and `q=field:value[,field:value…]` terms, in that order. */
function rawConditions(query: Record<string, string>): Parse<RawCondition[]> {
  const raw: RawCondition[] = [];
  for (const [parameter, value] of Object.entries(query)) {
    const m = FILTER.exec(parameter);
    if (m) raw.push({ parameter, name: m[1], value, operators: false });
  }
  if (query.q !== undefined) {
    for (const term of query.q.split(',')) {
      const colon = term.indexOf(':');
      if (colon <= 0) return fail('q', `has a term without field:value (${JSON.stringify(term.slice(0, 70))})`);
      raw.push({ parameter: 'q', name: term.slice(0, colon), value: term.slice(colon + 1), operators: true });
    }
  }
  if (raw.length > LISTING_PAGE.maxConditions) return fail(raw[LISTING_PAGE.maxConditions].parameter, `makes more than ${LISTING_PAGE.maxConditions} conditions`);
  return { ok: true, value: raw };
}

export function parseConditions(query: Record<string, string>, rules: IdentifierNormaliser): Parse<{ conditions: SearchCondition[]; matchesNothing: boolean }> {
  const raw = rawConditions(query);
  if (!raw.ok) return raw;
  const conditions: SearchCondition[] = [];
  let matchesNothing = false;
  for (const r of raw.value) {
    const c = toCondition(r, rules);
    if (!c.ok) return c;
    if (c.value === null) matchesNothing = true;
    else conditions.push(c.value);
  }
  return { ok: true, value: { conditions, matchesNothing } };
}

/** Every parameter a listing knows, each given once: anything else is a problem naming it. */
function singleValued(query: Record<string, unknown>): Parse<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    if (!PLAIN.has(name) && !FILTER.test(name)) {
      return fail(name, 'is not a parameter of this route (limit, offset, pageNumber, pageSize, cursor, sort, sort_by, sort_order, filter[field], q)');
    }
    if (typeof value !== 'string') return fail(name, 'must be given once');
    out[name] = value;
  }
  return { ok: true, value: out };
}

/** The sort-key kinds of a listing's keyset: its sort keys, then the id tiebreak (unless id is sorted on). */
export function keysetKinds(sort: readonly SortKey[]): Array<SortKey['field']['kind']> {
  const kinds: Array<SortKey['field']['kind']> = [];
  for (const k of sort) {
    kinds.push(k.field.kind);
    if (k.field.kind === 'id') return kinds;
  }
  return [...kinds, 'id'];
}

/** Parses a listing's query string (DESIGN §12). `customer`: the customer route's path parameter (part of the cursor's binding). */
export function parseListingQuery(query: Record<string, unknown>, rules: IdentifierNormaliser, customer?: string): { ok: true; query: ListingQuery } | { ok: false; problem: ParameterProblem } {
  const single = singleValued(query);
  if (!single.ok) return single;
  const q = single.value;
  const paging = parsePaging(q);
  if (!paging.ok) return paging;
  const sort = parseSort(q);
  if (!sort.ok) return sort;
  const conditions = parseConditions(q, rules);
  if (!conditions.ok) return conditions;
  const binding = listingBinding({ conditions: conditions.value.conditions, sort: sort.value, limit: paging.value.limit, customer });
  let cursor: ListingCursor | null = null;
  if (q.cursor !== undefined) {
    const decoded = decodeListingCursor(q.cursor, binding, keysetKinds(sort.value));
    if (!decoded.ok) return fail('cursor', decoded.message);
    cursor = decoded.cursor;
  }
  return {
    ok: true,
    query: {
      limit: paging.value.limit,
      offset: cursor ? cursor.offset : paging.value.offset,
      conditions: conditions.value.conditions,
      sort: sort.value,
      cursor,
      matchesNothing: conditions.value.matchesNothing,
      binding,
    },
  };
}
