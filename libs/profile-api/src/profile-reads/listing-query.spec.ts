import { IdentifierRules } from '@tessera/identity';
import { encodeListingCursor } from './listing-cursor';
import { keysetKinds, parseListingQuery, parsePaging, parseSort } from './listing-query';

const rules = IdentifierRules.defaults();
const parse = (query: Record<string, unknown>, customer?: string) => parseListingQuery(query, rules, customer);

function problemOf(query: Record<string, unknown>): string {
  const r = parse(query);
  if (r.ok) throw new Error(`expected a problem for ${JSON.stringify(query)}`);
  return r.problem.parameter;
}

function ok(query: Record<string, unknown>, customer?: string) {
  const r = parse(query, customer);
  if (!r.ok) throw new Error(`${r.problem.parameter}: ${r.problem.message}`);
  return r.query;
}

describe('given the paging parameters', () => {
  it('when none are given, then limit 60 from offset 0', () => {
    expect(parsePaging({})).toEqual({ ok: true, value: { limit: 60, offset: 0 } });
  });

  it('when pageNumber and pageSize are given, then they become limit and offset', () => {
    expect(parsePaging({ pageNumber: '3', pageSize: '25' })).toEqual({ ok: true, value: { limit: 25, offset: 50 } });
    expect(parsePaging({ pageNumber: '2' })).toEqual({ ok: true, value: { limit: 60, offset: 60 } });
  });

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '501' }, 'limit'],
    [{ limit: '1.5' }, 'limit'],
    [{ offset: '-1' }, 'offset'],
    [{ offset: '1000001' }, 'offset'],
    [{ pageNumber: '0' }, 'pageNumber'],
    [{ pageSize: '0' }, 'pageSize'],
    [{ pageNumber: '1', limit: '5' }, 'limit'],
    [{ pageSize: '5', offset: '5' }, 'offset'],
    [{ cursor: 'x', offset: '5' }, 'offset'],
    [{ cursor: 'x', pageNumber: '2' }, 'pageNumber'],
  ])('when %j, then the problem names %s', (query, parameter) => {
    const r = parsePaging(query as Record<string, string>);
    expect(r.ok ? undefined : r.problem.parameter).toBe(parameter);
  });
});

describe('given the sorting parameters', () => {
  it('when none are given, then created_at ascending', () => {
    expect(parseSort({})).toEqual({ ok: true, value: [{ field: { kind: 'created_at' }, desc: false }] });
  });

  it('when sort lists fields with directions, then each becomes a key in order (attributes by name)', () => {
    expect(parseSort({ sort: 'city,orders:desc,updated_at:ASC' })).toEqual({
      ok: true,
      value: [
        { field: { kind: 'attribute', name: 'city' }, desc: false },
        { field: { kind: 'attribute', name: 'orders' }, desc: true },
        { field: { kind: 'updated_at' }, desc: false },
      ],
    });
  });

  it('when sort_by and sort_order are given, then they mean the same as sort=field:order', () => {
    expect(parseSort({ sort_by: 'status', sort_order: 'desc' })).toEqual(parseSort({ sort: 'status:desc' }));
    expect(parseSort({ sort_order: 'desc' })).toEqual(parseSort({ sort: 'created_at:desc' }));
  });

  it.each([
    [{ sort: 'Bad-Name' }, 'sort'],
    [{ sort: 'city:up' }, 'sort'],
    [{ sort: 'city:asc:x' }, 'sort'],
    [{ sort: 'a,b,c,d,e,f' }, 'sort'],
    [{ sort: 'id,id' }, 'sort'],
    [{ sort: 'id', sort_by: 'id' }, 'sort_by'],
    [{ sort: 'id', sort_order: 'asc' }, 'sort_order'],
    [{ sort_by: '$status' }, 'sort_by'],
    [{ sort_order: 'sideways' }, 'sort_order'],
  ])('when %j, then the problem names %s', (query, parameter) => {
    const r = parseSort(query as Record<string, string>);
    expect(r.ok ? undefined : r.problem.parameter).toBe(parameter);
  });

  it('when id is a sort key, then the keyset needs no tiebreak after it', () => {
    expect(keysetKinds([{ field: { kind: 'updated_at' }, desc: true }])).toEqual(['updated_at', 'id']);
    expect(keysetKinds([{ field: { kind: 'id' }, desc: true }, { field: { kind: 'status' }, desc: false }])).toEqual(['id']);
  });
});

describe('given filters and q', () => {
  it('when filter[field] names an attribute, status, tag, time or identifier, then one equality each (identifiers normalised)', () => {
    const q = ok({ 'filter[city]': 'Boston', 'filter[status]': 'closed', 'filter[tag]': 'vip', 'filter[email]': ' Ann@Example.COM ', 'filter[created_at]': '2026-01-01T00:00:00Z' });
    expect(q.conditions).toEqual([
      { field: { kind: 'attribute', name: 'city' }, op: 'eq', value: 'Boston' },
      { field: { kind: 'status' }, op: 'eq', value: 'closed' },
      { field: { kind: 'tag' }, op: 'eq', value: 'vip' },
      { field: { kind: 'identifier', type: 'email' }, op: 'eq', value: 'ann@example.com' },
      { field: { kind: 'timestamp', column: 'created_at' }, op: 'eq', value: '2026-01-01T00:00:00Z' },
    ]);
    expect(q.matchesNothing).toBe(false);
  });

  it('when filter[zaius_id] is given, then it is the profile id, normalised like a look-up (lower case)', () => {
    expect(ok({ 'filter[zaius_id]': '0190A4C2-7D1E-7B3A-9C55-2F4D8E6A1B20' }).conditions).toEqual([
      { field: { kind: 'identifier', type: 'zaius_id' }, op: 'eq', value: '0190a4c2-7d1e-7b3a-9c55-2f4d8e6a1b20' },
    ]);
    expect(problemOf({ 'filter[zaius_id]': 'not-a-uuid' })).toBe('filter[zaius_id]');
  });

  it('when filter[] holds a * or >, then it is taken literally (operators are for q)', () => {
    expect(ok({ 'filter[code]': '>5*' }).conditions).toEqual([{ field: { kind: 'attribute', name: 'code' }, op: 'eq', value: '>5*' }]);
  });

  it('when q holds prefixes and comparisons, then each term is AND-ed with its operator', () => {
    expect(ok({ q: 'first_name:Al*,orders:>=3,orders:<10.5,joined_at:>2026-01-01T00:00:00Z,updated_at:<=2026-02-01' }).conditions).toEqual([
      { field: { kind: 'attribute', name: 'first_name' }, op: 'prefix', value: 'Al' },
      { field: { kind: 'attribute', name: 'orders' }, op: 'gte', value: '3', compare: 'number' },
      { field: { kind: 'attribute', name: 'orders' }, op: 'lt', value: '10.5', compare: 'number' },
      { field: { kind: 'attribute', name: 'joined_at' }, op: 'gt', value: '2026-01-01T00:00:00Z', compare: 'time' },
      { field: { kind: 'timestamp', column: 'updated_at' }, op: 'lte', value: '2026-02-01', compare: 'time' },
    ]);
  });

  it('when an identifier value is blocked (as a look-up would refuse it), then the listing matches nothing', () => {
    expect(ok({ 'filter[email]': 'null' }).matchesNothing).toBe(true);
  });

  it.each([
    [{ 'filter[Bad]': 'x' }, 'filter[Bad]'],
    [{ 'filter[]': 'x' }, 'filter[]'],
    [{ 'filter[city]': '' }, 'filter[city]'],
    [{ 'filter[status]': 'deleted' }, 'filter[status]'],
    [{ 'filter[email]': 'not-an-email' }, 'filter[email]'],
    [{ 'filter[updated_at]': 'soon' }, 'filter[updated_at]'],
    [{ q: 'city' }, 'q'],
    [{ q: ':x' }, 'q'],
    [{ q: 'orders:>x' }, 'q'],
    [{ q: 'tag:>3' }, 'q'],
    [{ q: 'email:>3' }, 'q'],
    [{ q: 'created_at:>3' }, 'q'],
    [{ q: 'city:*' }, 'q'],
    [{ filter: 'x' }, 'filter'],
    [{ unknown: '1' }, 'unknown'],
    [{ limit: ['1', '2'] }, 'limit'],
  ])('when %j, then the problem names %s', (query, parameter) => {
    expect(problemOf(query)).toBe(parameter);
  });
});

describe('given a cursor', () => {
  it('when the next of a listing comes back with the same filter, sort and limit, then it resumes after its keyset at its offset', () => {
    const first = ok({ 'filter[city]': 'Boston', sort: 'updated_at:desc', limit: '10' });
    const next = encodeListingCursor({ after: ['2026-01-01T00:00:00.123456Z', 'id-9'], offset: 10, binding: first.binding });
    const q = ok({ 'filter[city]': 'Boston', sort: 'updated_at:desc', limit: '10', cursor: next });
    expect(q.cursor?.after).toEqual(['2026-01-01T00:00:00.123456Z', 'id-9']);
    expect(q.offset).toBe(10);
  });

  it('when it comes back with another filter, sort, limit or customer, then the problem names cursor', () => {
    const first = ok({ 'filter[city]': 'Boston', limit: '10' });
    const next = encodeListingCursor({ after: ['2026-01-01T00:00:00.123456Z', 'id-9'], offset: 10, binding: first.binding });
    for (const other of [{ 'filter[city]': 'Berlin', limit: '10' }, { 'filter[city]': 'Boston', limit: '11' }, { 'filter[city]': 'Boston', limit: '10', sort: 'id' }]) {
      expect(problemOf({ ...other, cursor: next })).toBe('cursor');
    }
    expect(parse({ 'filter[city]': 'Boston', limit: '10', cursor: next }, 'acme').ok).toBe(false);
  });

  it('when its keyset does not fit the sort (forged), then the problem names cursor before any SQL sees it', () => {
    const binding = ok({}).binding;
    for (const after of [['yesterday', 'id'], ['2026-01-01T00:00:00.123456Z'], ['2026-01-01T00:00:00.123456Z', 'id', 'extra']]) {
      expect(problemOf({ cursor: encodeListingCursor({ after, offset: 0, binding }) })).toBe('cursor');
    }
    const byAttribute = ok({ sort: 'city' }).binding;
    expect(problemOf({ sort: 'city', cursor: encodeListingCursor({ after: ['{not json', 'id'], offset: 0, binding: byAttribute }) })).toBe('cursor');
    expect(problemOf({ cursor: 'a'.repeat(5000) })).toBe('cursor');
    expect(problemOf({ cursor: Buffer.from('[1,2]').toString('base64url') })).toBe('cursor');
  });
});
