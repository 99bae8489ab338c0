import type { ProfileSearch, SearchCondition, SearchScope, SortField, SortKey } from './profile-search.types';
import { SEARCH_VALUE_MAX_BYTES, searchColumnOf } from './search-attributes';

/** Parameters of a statement under construction: `add` returns the placeholder of a new one. */
export class SqlParams {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

// The profile's status, `$status` or active (a stored column: migration 1700).
const STATUS = 'p.search_status';
const UTC_MICROS = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

/** A JSON-number literal, as a query-string value may spell one. */
const JSON_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

function attribute(name: string, params: SqlParams): string {
  return `p.attributes->${params.add(name)}::text`;
}

/**
 * The values an `eq` on an attribute matches: the text as a JSON string, and as the number or boolean
 * it spells (a query string cannot say which the attribute holds). Each is a containment (`@>`), which
 * the GIN index on attributes answers.
 */
export function equalityCandidates(name: string, value: string): string[] {
  return candidateValues(value).map((v) => JSON.stringify({ [name]: v }));
}

function candidateValues(value: string): unknown[] {
  const candidates: unknown[] = [value];
  if (JSON_NUMBER.test(value) && Number.isFinite(Number(value))) candidates.push(Number(value));
  if (value === 'true' || value === 'false') candidates.push(value === 'true');
  return candidates;
}

/**
 * The same match on a declared search attribute's column (search-attributes.ts): the attribute's JSON
 * value equal to a candidate — what `attributes @> {"name": candidate}` means for a scalar candidate.
 */
function declaredEquality(name: string, value: string, params: SqlParams): string {
  const column = `p.${searchColumnOf(name)}`;
  const values = candidateValues(value).map((v) => JSON.stringify(v));
  return values.length === 1 ? `${column} = ${params.add(values[0])}::jsonb` : `${column} = ANY (${params.add(values)}::jsonb[])`;
}

// Half the column's cap: a value this short as JSON text is held by the column whatever PostgreSQL's spelling.
const DECLARED_CANDIDATE_MAX_BYTES = SEARCH_VALUE_MAX_BYTES / 2;

/** An equality its declared attribute's column answers (a longer value than the column holds goes to the GIN). */
function isDeclaredEquality(c: SearchCondition, declared: ReadonlySet<string>): boolean {
  return c.op === 'eq' && c.field.kind === 'attribute' && declared.has(c.field.name) && Buffer.byteLength(JSON.stringify(c.value)) <= DECLARED_CANDIDATE_MAX_BYTES;
}

/** What a statement is built for beside the search: the tenant, and the declared search attributes. */
interface BuildContext {
  tenant: string;
  declared: ReadonlySet<string>;
  /** Some condition is an equality on a declared attribute: its index can answer the whole count. */
  onDeclared: boolean;
}

const COMPARATORS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

function conditionSql(c: SearchCondition, params: SqlParams, ctx: BuildContext): string {
  const f = c.field;
  const tenant = ctx.tenant;
  switch (f.kind) {
    case 'status':
      if (c.op === 'prefix') return `starts_with(${STATUS}, ${params.add(c.value)})`;
      // Most profiles are active; the others are found by the GIN — or, beside a declared attribute, by its index.
      if (c.value === 'active') return `${STATUS} = 'active'`;
      return ctx.onDeclared ? `${STATUS} = ${params.add(c.value)}` : `p.attributes @> ${params.add(JSON.stringify({ $status: c.value }))}::jsonb`;
    case 'tag':
      if (c.op === 'prefix') {
        return `EXISTS (SELECT 1 FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(p.attributes->'$tags') = 'array' THEN p.attributes->'$tags' ELSE '[]'::jsonb END) AS t(v)
                         WHERE starts_with(t.v, ${params.add(c.value)}))`;
      }
      return `p.attributes @> ${params.add(JSON.stringify({ $tags: [c.value] }))}::jsonb`;
    case 'identifier': {
      // zaius_id is the profile id itself (a merged-away one leads to its survivor), as in a look-up.
      if (f.type === 'zaius_id') {
        const id = c.op === 'prefix' ? `starts_with(s.id, ${params.add(c.value)})` : `s.id = ${params.add(c.value)}`;
        return `p.id IN (SELECT COALESCE(s.merged_into, s.id) FROM profiles s WHERE s.tenant = ${params.add(tenant)} AND ${id})`;
      }
      const match = c.op === 'prefix' ? `starts_with(i.value, ${params.add(c.value)})` : `i.value = ${params.add(c.value)}`;
      // Identifier rows point at live profiles; following merged_into as the look-up does costs nothing.
      return `p.id IN (SELECT COALESCE(x.merged_into, x.id) FROM identifiers i JOIN profiles x ON x.tenant = i.tenant AND x.id = i.profile_id
                        WHERE i.tenant = ${params.add(tenant)} AND i.type = ${params.add(f.type)} AND ${match})`;
    }
    case 'timestamp': {
      const op = c.op === 'eq' ? '=' : COMPARATORS[c.op as keyof typeof COMPARATORS];
      return `p.${f.column} ${op} ${params.add(c.value)}::timestamptz`;
    }
    case 'attribute': {
      if (isDeclaredEquality(c, ctx.declared)) return declaredEquality(f.name, c.value, params);
      if (c.op === 'eq') {
        const any = equalityCandidates(f.name, c.value).map((json) => `p.attributes @> ${params.add(json)}::jsonb`);
        return any.length === 1 ? any[0] : `(${any.join(' OR ')})`;
      }
      const value = attribute(f.name, params);
      if (c.op === 'prefix') return `starts_with(${value.replace('->', '->>')}, ${params.add(c.value)})`;
      const op = COMPARATORS[c.op];
      if (c.compare === 'number') {
        return `(CASE WHEN jsonb_typeof(${value}) = 'number' THEN (${value})::numeric END) ${op} ${params.add(c.value)}::numeric`;
      }
      // ISO times held as strings; anything that does not read as one does not match (never an error).
      const text = value.replace('->', '->>');
      return `(CASE WHEN jsonb_typeof(${value}) = 'string' AND ${text} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}' AND pg_input_is_valid(${text}, 'timestamptz')
                    THEN (${text})::timestamptz END) ${op} ${params.add(c.value)}::timestamptz`;
    }
  }
}

/**
 * The WHERE clause of every read: tenant, live rows only, restrictions, customer, conditions. `declared`:
 * the declared search attributes (their equalities read their columns).
 */
export function whereSql(scope: SearchScope, conditions: readonly SearchCondition[], params: SqlParams, declared: ReadonlySet<string> = NONE_DECLARED): string {
  const ctx: BuildContext = { tenant: scope.tenant, declared, onDeclared: conditions.some((c) => isDeclaredEquality(c, declared)) };
  const parts = [`p.tenant = ${params.add(scope.tenant)}`, `p.merged_into IS NULL`];
  if (scope.restrictions) parts.push(`p.attributes->>'restriction' = ANY (${params.add(scope.restrictions)}::text[])`);
  if (scope.customer !== undefined) parts.push(`p.attributes @> ${params.add(JSON.stringify({ $customer: scope.customer }))}::jsonb`);
  for (const c of conditions) parts.push(conditionSql(c, params, ctx));
  return parts.join(' AND ');
}

const NONE_DECLARED: ReadonlySet<string> = new Set();

interface KeySql {
  /** The ORDER BY expression. */
  expr: string;
  /** Its value as text (the cursor's form). */
  text: string;
  /** The same text of another expression holding the key (a column of the materialized matches). */
  textOf(expr: string): string;
  /** A cursor text back to the expression's type. */
  cast: string;
  desc: boolean;
}

function keySql(field: SortField, desc: boolean, params: SqlParams): KeySql {
  switch (field.kind) {
    case 'created_at':
    case 'updated_at': {
      const textOf = (e: string) => `to_char(${e} AT TIME ZONE 'UTC', ${UTC_MICROS})`;
      return { expr: `p.${field.kind}`, text: textOf(`p.${field.kind}`), textOf, cast: '::timestamptz', desc };
    }
    case 'id':
      return { expr: 'p.id', text: 'p.id', textOf: (e) => e, cast: '::text', desc };
    case 'status':
      return { expr: STATUS, text: STATUS, textOf: (e) => e, cast: '::text', desc };
    case 'attribute': {
      // Missing sorts as JSON null: never SQL NULL, so keyset comparisons stay total.
      const expr = `COALESCE(p.attributes->${params.add(field.name)}::text, 'null'::jsonb)`;
      return { expr, text: `${expr}::text`, textOf: (e) => `${e}::text`, cast: '::jsonb', desc };
    }
  }
}

/** Sort keys with the id tiebreak (in the last key's direction, so one index scan serves both). */
export function sortKeysSql(sort: readonly SortKey[], params: SqlParams): KeySql[] {
  const keys: KeySql[] = [];
  for (const k of sort) {
    keys.push(keySql(k.field, k.desc, params));
    if (k.field.kind === 'id') return keys;
  }
  keys.push(keySql({ kind: 'id' }, sort.length ? sort[sort.length - 1].desc : false, params));
  return keys;
}

/**
 * Rows after the keyset `after`: one row comparison when every key runs one way (an index range),
 * otherwise the expanded form (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ….
 */
export function keysetSql(keys: KeySql[], after: readonly string[], params: SqlParams): string {
  const values = keys.map((k, i) => `${params.add(after[i])}${k.cast}`);
  if (keys.every((k) => k.desc === keys[0].desc)) {
    return `(${keys.map((k) => k.expr).join(', ')}) ${keys[0].desc ? '<' : '>'} (${values.join(', ')})`;
  }
  const ors = keys.map((k, i) => {
    const equal = keys.slice(0, i).map((e, j) => `${e.expr} = ${values[j]}`);
    return `(${[...equal, `${k.expr} ${k.desc ? '<' : '>'} ${values[i]}`].join(' AND ')})`;
  });
  return `(${ors.join(' OR ')})`;
}

/**
 * Per live profile in `ids` (a SQL expression yielding profile ids): its contacts, and whether it is
 * the primary of its customer — among the customer's live profiles marked `$is_primary`, the one
 * whose mark is latest; the mark's version is in the packed attribute_versions, read by the caller.
 */
export const CONTACTS_SQL = `(SELECT COALESCE(jsonb_agg(jsonb_build_array(i.type, i.value,
           to_char(i.first_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           to_char(i.last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) ORDER BY i.first_seen, i.type, i.value), '[]'::jsonb)
      FROM identifiers i WHERE i.tenant = pg.tenant AND i.profile_id = pg.id AND i.type <> 'zaius_id')`;

/** The customers' marked primaries, for the rows of `pg` that have a customer: [customer, id, packed versions]. */
export const PRIMARY_CANDIDATES_SQL = `(SELECT jsonb_agg(jsonb_build_array(c.attributes->>'$customer', c.id, c.attribute_versions))
      FROM (SELECT DISTINCT pg.tenant, pg.attributes->>'$customer' AS customer FROM pg WHERE pg.attributes ? '$customer') pc
      JOIN profiles c ON c.tenant = pc.tenant AND c.merged_into IS NULL
       AND c.attributes @> jsonb_build_object('$customer', pc.customer, '$is_primary', true))`;

/**
 * Sorts an index holds in order — created_at (profiles_search_created: tenant, created_at, id) or id
 * (the primary key), the id tiebreak running the same way: a page can walk it and stop at `limit`.
 */
export function indexOrdered(sort: readonly SortKey[]): boolean {
  const [first, second] = sort;
  if (!first || first.field.kind === 'id') return true;
  return first.field.kind === 'created_at' && (!second || (second.field.kind === 'id' && second.desc === first.desc));
}

/**
 * One statement: the total, the page (sort keys as text, in order) with each profile's contacts,
 * and the primaries of the page's customers. The page is joined to the total so an empty page still
 * answers the total.
 * - No condition, or a sort an index holds (indexOrdered): the page walks the index in sort order
 *   (or, for a few matches, the planner picks them by the GIN and sorts them) and the total counts
 *   apart, with no tuplestore of every match — PostgreSQL CPU at 200,000 profiles (search-sql perf
 *   tool): `filter[status]=active` 316 → 210 ms, a city's 20,426 active profiles 84 → 72 ms. It
 *   needs the status statistics (migration 1500): with the default estimate the planner read the GIN
 *   matches twice instead of walking the index.
 * - An equality on a declared search attribute (search-attributes.ts), any sort: the same two parts —
 *   its index counts the matches without visiting them, and a page by updated_at (the index's order
 *   after attribute and status) reads just its rows. The bench's page at 322,334 profiles: 5.7 ms for
 *   the count of 30,924 matches and 0.7 ms for the page, against ≈ 52 + 18 ms through the GIN.
 * - Conditions and any other sort: the matches are scanned once (MATERIALIZED: id and sort keys)
 *   and both the total and the page's top-N come from that set — the count has to visit every match
 *   anyway, so the page costs no second scan; only the page's rows are then read in full.
 */
export function searchSql(search: ProfileSearch, declared: ReadonlySet<string> = NONE_DECLARED): { text: string; values: unknown[] } {
  const params = new SqlParams();
  const where = whereSql(search.scope, search.conditions, params, declared);
  const keys = sortKeysSql(search.sort, params);
  const limit = params.add(search.limit);
  const offset = params.add(search.offset);
  const filtered = search.conditions.length > 0 || search.scope.customer !== undefined || search.scope.restrictions !== null;
  // On a declared attribute the count is read from its index and a page by updated_at walks it too.
  const shared = filtered && !indexOrdered(search.sort) && !search.conditions.some((c) => isDeclaredEquality(c, declared));
  const tail = `SELECT t.total, t.primaries, pg.id, pg.attributes, pg.created_at, pg.updated_at, pg.sort_key, ${CONTACTS_SQL} AS contacts
      FROM (SELECT TOTAL AS total, ${PRIMARY_CANDIDATES_SQL} AS primaries) t
      LEFT JOIN pg ON true
     ORDER BY pg.n`;
  if (!shared) {
    const pageWhere = search.after ? `${where} AND ${keysetSql(keys, search.after, params)}` : where;
    const order = keys.map((k) => `${k.expr}${k.desc ? ' DESC' : ''}`).join(', ');
    const text = `WITH pg AS (
      SELECT row_number() OVER () AS n, q.tenant, q.id, q.attributes, q.created_at, q.updated_at,
             jsonb_build_array(${keys.map((k, i) => k.textOf(`q.k${i}`)).join(', ')}) AS sort_key FROM (
        SELECT p.tenant, p.id, p.attributes, p.created_at, p.updated_at, ${keys.map((k, i) => `${k.expr} AS k${i}`).join(', ')}
          FROM profiles p WHERE ${pageWhere}
         ORDER BY ${order} LIMIT ${limit} OFFSET ${offset}) q
    )
    ${tail.replace('TOTAL', `(SELECT count(*) FROM profiles p WHERE ${where})::int`)}`;
    return { text, values: params.values };
  }
  const onM = keys.map((k, i) => ({ ...k, expr: `m.k${i}` }));
  const pageWhere = search.after ? `WHERE ${keysetSql(onM, search.after, params)}` : '';
  const order = onM.map((k) => `${k.expr}${k.desc ? ' DESC' : ''}`).join(', ');
  const text = `WITH m AS MATERIALIZED (
      SELECT p.id, ${keys.map((k, i) => `${k.expr} AS k${i}`).join(', ')} FROM profiles p WHERE ${where}
    ), top AS (
      -- The cursor texts are built for the page's rows only (to_char on every match would cost more than the scan).
      SELECT row_number() OVER () AS n, s.id, jsonb_build_array(${keys.map((k, i) => k.textOf(`s.k${i}`)).join(', ')}) AS sort_key FROM (
        SELECT m.* FROM m ${pageWhere}
         ORDER BY ${order} LIMIT ${limit} OFFSET ${offset}) s
    ), pg AS (
      SELECT top.n, p.tenant, p.id, p.attributes, p.created_at, p.updated_at, top.sort_key
        FROM top JOIN profiles p ON p.tenant = ${params.add(search.scope.tenant)} AND p.id = top.id
    )
    ${tail.replace('TOTAL', '(SELECT count(*) FROM m)::int')}`;
  return { text, values: params.values };
}

/** One live profile (`id` may be merged away: its survivor) within the scope, with contacts and primaries. */
export function profileByIdSql(scope: SearchScope, id: string): { text: string; values: unknown[] } {
  const params = new SqlParams();
  const where = whereSql(scope, [], params);
  const text = `WITH pg AS (
      SELECT p.tenant, p.id, p.attributes, p.created_at, p.updated_at
        FROM profiles p
       WHERE p.id = (SELECT COALESCE(s.merged_into, s.id) FROM profiles s WHERE s.tenant = ${params.add(scope.tenant)} AND s.id = ${params.add(id)})
         AND ${where}
    )
    SELECT t.primaries, pg.id, pg.attributes, pg.created_at, pg.updated_at, ${CONTACTS_SQL} AS contacts
      FROM pg, (SELECT ${PRIMARY_CANDIDATES_SQL} AS primaries) t`;
  return { text, values: params.values };
}
