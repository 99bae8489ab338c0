import { packVersions } from '../repositories/profile-graph.repository';
import { primariesOf } from './profile-search.repository';
import { equalityCandidates, indexOrdered, keysetSql, searchSql, sortKeysSql, SqlParams } from './profile-search.sql';

describe('given an attribute equality from a query string', () => {
  it('when the text spells a number or a boolean, then the string and that value both match', () => {
    expect(equalityCandidates('orders', '3')).toEqual(['{"orders":"3"}', '{"orders":3}']);
    expect(equalityCandidates('vip', 'true')).toEqual(['{"vip":"true"}', '{"vip":true}']);
    expect(equalityCandidates('city', 'Boston')).toEqual(['{"city":"Boston"}']);
    expect(equalityCandidates('zip', '02101')).toEqual(['{"zip":"02101"}']);
  });
});

describe('given city declared as a search attribute', () => {
  const search = { scope: { tenant: 't', restrictions: null }, sort: [{ field: { kind: 'updated_at' as const }, desc: true }], limit: 61, offset: 0, after: null };
  const declared = new Set(['city']);

  it('when a listing filters on it, then it reads the column (every candidate value) and counts apart from the page', () => {
    const q = searchSql({ ...search, conditions: [{ field: { kind: 'status' }, op: 'eq', value: 'closed' }, { field: { kind: 'attribute', name: 'city' }, op: 'eq', value: '5' }] }, declared);
    expect(q.text).toContain('p.search_attr_city = ANY (');
    expect(q.text).toContain('p.search_status = ');
    expect(q.text).not.toContain('p.attributes @> $'); // no containment among the conditions
    expect(q.text).not.toContain('MATERIALIZED');
    expect(q.values).toContainEqual(['"5"', '5']);
  });

  it('when a listing filters on another attribute, then it keeps the containment the GIN answers', () => {
    const q = searchSql({ ...search, conditions: [{ field: { kind: 'attribute', name: 'plan' }, op: 'eq', value: 'pro' }] }, declared);
    expect(q.text).toContain('p.attributes @> ');
    expect(q.text).toContain('MATERIALIZED');
  });
});

describe('given sort keys', () => {
  it('when every key runs one way, then the keyset is one row comparison (an index range) with the id tiebreak', () => {
    const params = new SqlParams();
    const keys = sortKeysSql([{ field: { kind: 'updated_at' }, desc: true }], params);
    expect(keysetSql(keys, ['2026-01-01T00:00:00.000000Z', 'x'], params)).toBe('(p.updated_at, p.id) < ($1::timestamptz, $2::text)');
  });

  it('when directions are mixed, then the keyset is the expanded OR form', () => {
    const params = new SqlParams();
    const keys = sortKeysSql([{ field: { kind: 'status' }, desc: false }, { field: { kind: 'created_at' }, desc: true }], params);
    const sql = keysetSql(keys, ['active', '2026-01-01T00:00:00.000000Z', 'x'], params);
    expect(sql).toContain(' OR ');
    expect(params.values).toEqual(['active', '2026-01-01T00:00:00.000000Z', 'x']);
  });

  it('when a listing has conditions and a sort no index holds, then its matches are scanned once for the total and the page', () => {
    const search = { scope: { tenant: 't', restrictions: null }, sort: [{ field: { kind: 'updated_at' as const }, desc: true }], limit: 61, offset: 0, after: null };
    expect(searchSql({ ...search, conditions: [{ field: { kind: 'attribute', name: 'city' }, op: 'eq', value: 'Boston' }] }).text).toContain('MATERIALIZED');
    expect(searchSql({ ...search, conditions: [] }).text).not.toContain('MATERIALIZED');
  });

  it('when the sort is one an index holds, then the page walks it and the total counts apart, conditions or not', () => {
    const city = [{ field: { kind: 'attribute' as const, name: 'city' }, op: 'eq' as const, value: 'Boston' }];
    const search = { scope: { tenant: 't', restrictions: null }, conditions: city, limit: 61, offset: 0, after: null };
    for (const sort of [[], [{ field: { kind: 'created_at' as const }, desc: true }], [{ field: { kind: 'id' as const }, desc: false }]]) {
      expect(indexOrdered(sort)).toBe(true);
      expect(searchSql({ ...search, sort }).text).not.toContain('MATERIALIZED');
    }
    expect(indexOrdered([{ field: { kind: 'created_at' }, desc: false }, { field: { kind: 'id' }, desc: true }])).toBe(false);
    expect(indexOrdered([{ field: { kind: 'created_at' }, desc: false }, { field: { kind: 'updated_at' }, desc: false }])).toBe(false);
    expect(indexOrdered([{ field: { kind: 'status' }, desc: false }])).toBe(false);
  });
});

describe("given a customer's profiles marked primary", () => {
  it('when several are marked, then the latest mark wins whatever the order they are read in', () => {
    const mark = (ts: number, id: string) => packVersions({ $is_primary: [ts, id], city: [1, 'r'] });
    const candidates: Array<[string, string, Record<string, unknown>]> = [
      ['acme', 'p1', mark(100, 'r1')],
      ['acme', 'p2', mark(300, 'r2')],
      ['acme', 'p3', mark(200, 'r3')],
      ['zeta', 'p4', mark(50, 'r4')],
    ];
    const expected = new Map([['acme', 'p2'], ['zeta', 'p4']]);
    expect(primariesOf(candidates)).toEqual(expected);
    expect(primariesOf([...candidates].reverse())).toEqual(expected);
  });
});
