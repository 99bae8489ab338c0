import { IdentifierRules } from './identifier-rules';
import { IdentityGraph } from './identity-graph';
import { profileIdFor, TESSERA_PROFILE_NAMESPACE, uuidV5 } from './profile-id';
import type { Attributes, GraphSnapshot, ProfileUpsert } from './types';

const rules = IdentifierRules.defaults();
const rec = (recordId: string, ts: number, attributes: Attributes): ProfileUpsert => ({ recordId, ts, attributes });
const batch = [
  rec('r1', 1_000, { email: 'ann@x.io', vuid: 'dev-1', city: 'Oslo' }),
  rec('r2', 1_001, { phone: '+15558675309', vuid: 'dev-2' }),
  rec('r3', 1_002, { email: 'ann@x.io', phone: '+15558675309', plan: 'pro' }), // merges r2's profile into ann's
  rec('r4', 1_003, { vuid: 'dev-3', city: null }),
];

/** A committed state to load: the rows of a first graph, as a store would hand them over (fresh objects). */
function committed(): GraphSnapshot {
  const g = new IdentityGraph(rules, { profiles: [], identifiers: [] });
  for (const r of batch) g.apply(r);
  return structuredClone(g.dirty());
}

describe('IdentityGraph.takeDirtyRows (the worker write-back)', () => {
  describe('given two graphs that applied the same records to the same snapshot', () => {
    const later = [rec('r5', 2_000, { email: 'ann@x.io', vuid: 'dev-3', city: 'Bergen' }), rec('r6', 2_001, { email: 'bob@x.io' })];
    const a = new IdentityGraph(rules, committed());
    const b = new IdentityGraph(rules, committed(), { adopt: true });
    for (const r of later) {
      a.apply(r);
      b.apply(r);
    }
    b.unlink({ type: 'vuid', value: 'dev-2' }, b.ownerIdOf({ type: 'email', value: 'ann@x.io' })!, { recordId: 'r7', ts: 2_002 });
    a.unlink({ type: 'vuid', value: 'dev-2' }, a.ownerIdOf({ type: 'email', value: 'ann@x.io' })!, { recordId: 'r7', ts: 2_002 });

    it('when one takes dirty() and the other takeDirtyRows(tenant), then they report the same rows in the same order, with the tenant', () => {
      const expected = a.takeDirty();
      const rows = b.takeDirtyRows('t1');
      expect(rows).toEqual({
        profiles: expected.profiles.map((p) => ({ ...p, tenant: 't1' })),
        identifiers: expected.identifiers.map((i) => ({ ...i, tenant: 't1' })),
        removed: expected.removed.map((r) => ({ ...r, tenant: 't1' })),
      });
      expect(rows.profiles.length).toBeGreaterThan(0);
      expect(rows.removed).toEqual([{ tenant: 't1', type: 'vuid', value: 'dev-2' }]);
    });

    it('when taken again, then nothing is left', () => {
      expect(b.takeDirtyRows('t1')).toEqual({ profiles: [], identifiers: [], removed: [] });
    });
  });

  describe('given a graph built from a fresh graph of every record', () => {
    it('when its rows are taken in one go, then they equal dirty()', () => {
      const a = new IdentityGraph(rules, { profiles: [], identifiers: [] });
      for (const r of batch) a.apply(r);
      const expected = a.dirty();
      const rows = a.takeDirtyRows('t');
      expect(rows.profiles.map(({ tenant, ...p }) => (expect(tenant).toBe('t'), p))).toEqual(expected.profiles);
      expect(rows.identifiers.map(({ tenant, ...i }) => (expect(tenant).toBe('t'), i))).toEqual(expected.identifiers);
    });

    it('when its rows are taken unordered (a bulk load), then they are the same rows in the order they changed', () => {
      const a = new IdentityGraph(rules, { profiles: [], identifiers: [] });
      for (const r of batch) a.apply(r);
      const expected = a.dirty();
      const rows = a.takeDirtyRows('t', false);
      const byKey = <R extends { tenant: string }>(all: R[], key: (r: Omit<R, 'tenant'>) => string) =>
        all.map(({ tenant, ...r }) => (expect(tenant).toBe('t'), r)).sort((x, y) => key(x).localeCompare(key(y)));
      expect(byKey(rows.profiles, (p) => p.id)).toEqual(expected.profiles);
      expect(byKey(rows.identifiers, (i) => `${i.type}\u0000${i.value}`)).toEqual(expected.identifiers);
      // r1's vuid changed before r2's phone: first in this order, last in the sorted one.
      const keys = rows.identifiers.map((i) => `${i.type}:${i.value}`);
      expect(keys.indexOf('vuid:dev-1')).toBeGreaterThanOrEqual(0);
      expect(keys.indexOf('vuid:dev-1')).toBeLessThan(keys.indexOf('phone:+15558675309'));
      expect(a.takeDirtyRows('t', false)).toEqual({ profiles: [], identifiers: [], removed: [] });
    });
  });
});

describe('profileIdFor (one-shot hash)', () => {
  it.each([
    ['a record id', '0190d5c4-7b1e-7000-8000-00000000abcd'],
    ['non-ASCII', 'rëcord-☃-𝄞'],
    ['a lone surrogate', 'x\ud800y'],
    ['a long name (general path)', 'n'.repeat(2_000)],
    ['an empty name', ''],
  ])('given %s, then it is the v5 UUID of the name in the Tessera namespace', (_, name) => {
    expect(profileIdFor(name)).toBe(uuidV5(name, TESSERA_PROFILE_NAMESPACE));
  });
});
