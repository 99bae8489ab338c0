import fc from 'fast-check';
import { IdentifierRules } from './identifier-rules';
import { IdentityGraph } from './identity-graph';
import { profileIdFor } from './profile-id';
import { SnapshotStore, type GraphOp } from './testing/snapshot-store';
import type { Attributes, ProfileUpsert } from './types';

const rules = IdentifierRules.defaults();
const rec = (recordId: string, ts: number, attributes: Attributes): ProfileUpsert => ({ recordId, ts, attributes });
const emptyGraph = () => new IdentityGraph(rules, { profiles: [], identifiers: [] });

describe('IdentityGraph.unlink (native contacts, DESIGN §12)', () => {
  describe('given a profile with an email, a phone and a vuid', () => {
    const setup = () => {
      const g = emptyGraph();
      const id = g.apply(rec('r1', 1_000, { email: 'ann@x.io', phone: '+15550000001', vuid: 'v1', city: 'Oslo' })).profileId!;
      return { g, id };
    };

    it('when the email is unlinked, then it no longer resolves, its attribute is cleared and dirty() reports it removed', () => {
      const { g, id } = setup();
      expect(g.unlink({ type: 'email', value: 'ann@x.io' }, id, { recordId: 'r2', ts: 2_000 })).toBe(true);
      expect(g.resolveProfile({ type: 'email', value: 'ann@x.io' })).toBeUndefined();
      expect(g.identifiersOf(id).map((l) => l.type)).toEqual(['phone', 'vuid']);
      const p = g.profile(id)!;
      expect(p.attributes).toEqual({ phone: '+15550000001', vuid: 'v1', city: 'Oslo' });
      expect(p.versions.email).toEqual([1_000, 'r1']);
      expect(p.updatedTs).toBe(2_000);
      const dirty = g.dirty();
      expect(dirty.removed).toEqual([{ type: 'email', value: 'ann@x.io' }]);
      expect(dirty.identifiers.map((l) => l.type)).not.toContain('email');
    });

    it('when the attribute holds another value of that type, then the attribute stays', () => {
      const { g, id } = setup();
      g.apply(rec('r2', 2_000, { zaius_id: id, email: 'ann2@x.io' }));
      g.unlink({ type: 'email', value: 'ann@x.io' }, id, { recordId: 'r3', ts: 3_000 });
      expect(g.profile(id)!.attributes.email).toBe('ann2@x.io');
      expect(g.resolveProfile({ type: 'email', value: 'ann2@x.io' })?.id).toBe(id);
    });

    it('when the identifier belongs to another profile, is unknown, or is the zaius_id, then nothing changes', () => {
      const { g, id } = setup();
      const other = g.apply(rec('r2', 2_000, { email: 'bob@x.io' })).profileId!;
      const before = g.dirty();
      expect(g.unlink({ type: 'email', value: 'bob@x.io' }, id, { recordId: 'r3', ts: 3_000 })).toBe(false);
      expect(g.unlink({ type: 'email', value: 'nobody@x.io' }, id, { recordId: 'r3', ts: 3_000 })).toBe(false);
      expect(g.unlink({ type: 'zaius_id', value: id }, id, { recordId: 'r3', ts: 3_000 })).toBe(false);
      expect(g.unlink({ type: 'email', value: 'ann@x.io' }, profileIdFor('nobody'), { recordId: 'r3', ts: 3_000 })).toBe(false);
      expect(g.dirty()).toEqual(before);
      expect(g.resolveProfile({ type: 'email', value: 'bob@x.io' })?.id).toBe(other);
    });

    it('when the unlinked email arrives again in an upsert, then it starts a new profile and is no longer reported removed', () => {
      const { g, id } = setup();
      g.unlink({ type: 'email', value: 'ann@x.io' }, id, { recordId: 'r2', ts: 2_000 });
      const out = g.apply(rec('r3', 3_000, { email: 'ann@x.io' }));
      expect(out.created).toBe(true);
      expect(out.profileId).not.toBe(id);
      expect(g.dirty().removed).toEqual([]);
    });

    it('when the last high-confidence identifier is unlinked, then the profile is anonymous and merges into a known one', () => {
      const g = emptyGraph();
      const anon = g.apply(rec('r1', 1_000, { email: 'a@x.io', vuid: 'v1' })).profileId!;
      g.unlink({ type: 'email', value: 'a@x.io' }, anon, { recordId: 'r2', ts: 2_000 });
      const known = g.apply(rec('r3', 3_000, { email: 'b@x.io' })).profileId!;
      const out = g.apply(rec('r4', 4_000, { email: 'b@x.io', vuid: 'v1' }));
      expect(out.profileId).toBe(known);
      expect(out.mergedProfileIds).toEqual([anon]);
    });

    it('when a merged-away id is named, then the survivor is unlinked', () => {
      const g = emptyGraph();
      const a = g.apply(rec('r1', 1_000, { email: 'a@x.io' })).profileId!;
      const b = g.apply(rec('r2', 2_000, { phone: '+15550000001' })).profileId!;
      g.apply(rec('r3', 3_000, { email: 'a@x.io', phone: '+15550000001' }));
      expect(g.unlink({ type: 'phone', value: '+15550000001' }, b, { recordId: 'r4', ts: 4_000 })).toBe(true);
      expect(g.identifiersOf(a).map((l) => l.type)).toEqual(['email']);
    });
  });

  describe('given clearAttributes (a replace leaves attributes out)', () => {
    it('when older attributes are cleared, then they are gone with the record version; identifier rows stay', () => {
      const g = emptyGraph();
      const id = g.apply(rec('r1', 1_000, { email: 'a@x.io', city: 'Oslo', age: 3 })).profileId!;
      g.clearAttributes(id, ['city', 'email'], { recordId: 'r2', ts: 2_000 });
      const p = g.profile(id)!;
      expect(p.attributes).toEqual({ age: 3 });
      expect(p.versions.city).toEqual([2_000, 'r2']);
      expect(g.resolveProfile({ type: 'email', value: 'a@x.io' })?.id).toBe(id);
    });

    it('when an attribute was written later than the clear, then it stays (last writer wins)', () => {
      const g = emptyGraph();
      const id = g.apply(rec('r1', 5_000, { email: 'a@x.io', city: 'Oslo' })).profileId!;
      g.clearAttributes(id, ['city'], { recordId: 'r2', ts: 2_000 });
      expect(g.profile(id)!.attributes.city).toBe('Oslo');
    });
  });
});

describe('username (a default identifier type: high confidence, one per profile)', () => {
  it('given the default rules, then username is high-confidence with a limit of 1, ranked before vuid', () => {
    expect(rules.get('username')).toEqual({ type: 'username', confidence: 'high', perProfileLimit: 1, priority: 4 });
    expect(rules.get('vuid')!.priority).toBe(5);
  });

  it('given two upserts with the same username, then they resolve to one profile', () => {
    const g = emptyGraph();
    const a = g.apply(rec('r1', 1_000, { username: ' ann ', city: 'Oslo' })).profileId!;
    const b = g.apply(rec('r2', 2_000, { username: 'ann', email: 'ann@x.io' })).profileId!;
    expect(b).toBe(a);
    expect(g.profile(a)!.attributes).toMatchObject({ username: 'ann', email: 'ann@x.io' });
  });

  it('given a profile with a username, when another username arrives with its email, then it is not linked (limit 1)', () => {
    const g = emptyGraph();
    const a = g.apply(rec('r1', 1_000, { username: 'ann', email: 'ann@x.io' })).profileId!;
    const out = g.apply(rec('r2', 2_000, { username: 'anna', email: 'ann@x.io' }));
    expect(out.profileId).toBe(a);
    expect(out.warnings.join(' ')).toContain('username not linked');
    expect(g.resolveProfile({ type: 'username', value: 'anna' })).toBeUndefined();
  });
});

// ---- properties: a replay unlinks at the same point ---------------------------------------------------

const ts = fc.integer({ min: 1, max: 6 }).map((n) => n * 1_000);
const upsertOp = fc
  .record({
    ts,
    email: fc.constantFrom('a@x.io', 'b@x.io', 'c@x.io', undefined),
    username: fc.constantFrom('u1', 'u2', undefined),
    vuid: fc.constantFrom('v1', 'v2', undefined),
    city: fc.constantFrom('Oslo', 'Rome', null),
  })
  .filter((r) => r.email !== undefined || r.username !== undefined || r.vuid !== undefined)
  .map(({ ts, ...attributes }) => ({ kind: 'upsert' as const, ts, attributes: Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== undefined)) as Attributes }));
const unlinkOp = fc.record({
  kind: fc.constant('unlink' as const),
  ts,
  /** Names the profile a record r000N created (it may not exist, or be merged away). */
  creator: fc.integer({ min: 0, max: 5 }),
  ref: fc.constantFrom({ type: 'email', value: 'a@x.io' }, { type: 'email', value: 'b@x.io' }, { type: 'username', value: 'u1' }, { type: 'vuid', value: 'v1' }),
});
const log = fc.array(fc.oneof(upsertOp, upsertOp, unlinkOp), { minLength: 1, maxLength: 25 }).map((items): GraphOp[] =>
  items.map((item, i) => {
    const recordId = `r${String(i).padStart(4, '0')}`;
    if (item.kind === 'upsert') return { upsert: { recordId, ts: item.ts, attributes: item.attributes } };
    return { unlink: { recordId, ts: item.ts, profileId: profileIdFor(`r${String(item.creator).padStart(4, '0')}`), ref: item.ref } };
  }),
);
const cuts = fc.uniqueArray(fc.integer({ min: 1, max: 24 }), { maxLength: 4 });

function split<T>(items: T[], at: number[]): T[][] {
  const points = [...new Set(at.filter((c) => c > 0 && c < items.length))].sort((a, b) => a - b);
  const out: T[][] = [];
  let from = 0;
  for (const p of [...points, items.length]) {
    out.push(items.slice(from, p));
    from = p;
  }
  return out;
}

describe('IdentityGraph.unlink properties', () => {
  it('given a log mixing upserts and unlinks, when replayed in any batching, then the state and outcomes are identical, ids included', () => {
    fc.assert(
      fc.property(log, cuts, (ops, at) => {
        const single = new SnapshotStore();
        const outSingle = single.applyOpsInBatches([ops], rules);
        const batched = new SnapshotStore();
        const outBatched = batched.applyOpsInBatches(split(ops, at), rules);
        expect(batched.canonical()).toEqual(single.canonical());
        expect(outBatched).toEqual(outSingle);
      }),
      { numRuns: 300 },
    );
  });

  it('given any log, then an identifier just unlinked from a profile never resolves to it, and no stored row points at a missing profile', () => {
    fc.assert(
      fc.property(log, (ops) => {
        const store = new SnapshotStore();
        const graph = new IdentityGraph(rules, { profiles: [], identifiers: [] });
        for (const op of ops) {
          if ('upsert' in op) graph.apply(op.upsert);
          else if (graph.unlink(op.unlink.ref, op.unlink.profileId, op.unlink)) {
            expect(graph.ownerIdOf(op.unlink.ref)).toBeUndefined();
          }
        }
        store.save(graph.dirty());
        for (const l of store.identifiers.values()) expect(store.profiles.has(l.profileId)).toBe(true);
        for (const r of graph.dirty().removed) expect(store.identifiers.has(`${r.type}\u0000${r.value}`)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
