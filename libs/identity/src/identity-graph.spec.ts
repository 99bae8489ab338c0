import { IdentifierRules } from './identifier-rules';
import { IdentityGraph, IncompleteSnapshotError } from './identity-graph';
import { profileIdFor } from './profile-id';
import type { Attributes, GraphSnapshot, IdentifierLink, ProfileState, ProfileUpsert } from './types';

const rules = IdentifierRules.defaults();
const emptyGraph = (r: IdentifierRules = rules) => new IdentityGraph(r, { profiles: [], identifiers: [] });
const rec = (recordId: string, ts: number, attributes: Attributes): ProfileUpsert => ({ recordId, ts, attributes });
const idsOf = (g: IdentityGraph, profileId: string) => g.identifiersOf(profileId).map((l) => `${l.type}:${l.value}`);
const ownerOf = (g: IdentityGraph, type: string, value: string) => g.resolveProfile({ type, value })?.id;
/** Applies a record that must apply somewhere; the id of the profile it applied to. */
const applyTo = (g: IdentityGraph, r: ProfileUpsert): string => {
  const id = g.apply(r).profileId;
  if (id === null) throw new Error(`record ${r.recordId} applied to no profile`);
  return id;
};

/** Full state of a graph that started empty (every row is dirty). */
const stateOf = (g: IdentityGraph) => g.dirty();

describe('IdentityGraph', () => {
  describe('given an empty graph', () => {
    describe('when a record with a new email arrives', () => {
      const g = emptyGraph();
      const out = g.apply(rec('r1', 1_000, { email: ' Jane@X.io ', first_name: 'Jane' }));

      it('then a profile is created with the UUID v5 of the record id, created and updated at the record ts', () => {
        expect(out).toEqual({ profileId: profileIdFor('r1'), created: true, mergedProfileIds: [], warnings: [] });
        expect(g.profile(profileIdFor('r1'))).toEqual({
          id: profileIdFor('r1'),
          attributes: { email: 'jane@x.io', first_name: 'Jane' },
          versions: { email: [1_000, 'r1'], first_name: [1_000, 'r1'] },
          createdTs: 1_000,
          createdRecordId: 'r1',
          updatedTs: 1_000,
          mergedInto: null,
        });
      });

      it('then the normalised email is linked with high confidence, first and last seen at the record ts', () => {
        expect(g.identifiersOf(out.profileId!)).toEqual([
          { type: 'email', value: 'jane@x.io', profileId: out.profileId, confidence: 'high', firstSeen: 1_000, lastSeen: 1_000 },
        ]);
        expect(ownerOf(g, 'email', 'jane@x.io')).toBe(out.profileId);
      });

      it('then dirty() reports the new profile and identifier row', () => {
        const dirty = g.dirty();
        expect(dirty.profiles.map((p) => p.id)).toEqual([out.profileId]);
        expect(dirty.identifiers.map((l) => l.value)).toEqual(['jane@x.io']);
      });

      it('then replaying the same record in a fresh graph yields the same id', () => {
        const again = emptyGraph().apply(rec('r1', 1_000, { email: 'jane@x.io' }));
        expect(again.profileId).toBe(out.profileId);
      });
    });

    describe('when a record has blocked identifier values next to a usable one', () => {
      const g = emptyGraph();
      const out = g.apply(rec('r1', 1, { email: 'guest', phone: 'null', customer_id: -1, vuid: 'v1', plan: 'pro' }));

      it('then only the usable identifier is linked and blocked values are not written as attributes', () => {
        expect(idsOf(g, out.profileId!)).toEqual(['vuid:v1']);
        expect(g.profile(out.profileId!)?.attributes).toEqual({ vuid: 'v1', plan: 'pro' });
        expect(out.warnings).toEqual([]);
      });
    });

    describe('when a record carries ts and zaius_id attributes', () => {
      it('then neither is stored as an attribute', () => {
        const g = emptyGraph();
        const created = g.apply(rec('r1', 1, { email: 'a@x.io' }));
        g.apply(rec('r2', 2, { zaius_id: created.profileId, ts: 123, plan: 'pro' }));
        expect(g.profile(created.profileId!)?.attributes).toEqual({ email: 'a@x.io', plan: 'pro' });
        expect(g.profile(created.profileId!)?.versions).not.toHaveProperty('ts');
        expect(g.profile(created.profileId!)?.versions).not.toHaveProperty('zaius_id');
      });
    });

    describe('when a record has no usable identifier at all (e.g. replayed under stricter rules)', () => {
      it('then it gets a profile of its own, with a warning, and re-applying it finds that profile', () => {
        const g = emptyGraph();
        const out = g.apply(rec('r1', 1, { email: 'not-an-email', plan: 'pro' }));
        expect(out.profileId).toBe(profileIdFor('r1'));
        expect(out.warnings).toEqual(['email ignored: must look like an email address', 'record has no usable identifier: applied to a profile of its own']);
        expect(g.profile(out.profileId!)?.attributes).toEqual({ plan: 'pro' });
        expect(g.apply(rec('r1', 1, { email: 'not-an-email', plan: 'pro' }))).toMatchObject({ profileId: out.profileId, created: false });
      });
    });
  });

  describe('given a known profile', () => {
    describe('when a later record carries the same email in another spelling', () => {
      it('then it applies to that profile, and lastSeen/updatedTs advance', () => {
        const g = emptyGraph();
        const first = g.apply(rec('r1', 100, { email: 'a@x.io' }));
        const second = g.apply(rec('r2', 200, { email: '  A@X.IO', plan: 'pro' }));
        expect(second).toEqual({ profileId: first.profileId, created: false, mergedProfileIds: [], warnings: [] });
        expect(g.identifiersOf(first.profileId!)[0]).toMatchObject({ firstSeen: 100, lastSeen: 200 });
        expect(g.profile(first.profileId!)).toMatchObject({ updatedTs: 200, createdTs: 100, attributes: { email: 'a@x.io', plan: 'pro' } });
      });
    });

    describe('when an older record (out-of-order ts) arrives', () => {
      it('then firstSeen moves back, lastSeen and updatedTs stay, and its attributes lose to newer writes', () => {
        const g = emptyGraph();
        const p = applyTo(g, rec('r1', 200, { email: 'a@x.io', plan: 'pro' }));
        g.apply(rec('r2', 100, { email: 'a@x.io', plan: 'free', city: 'Oslo' }));
        expect(g.identifiersOf(p)[0]).toMatchObject({ firstSeen: 100, lastSeen: 200 });
        expect(g.profile(p)).toMatchObject({ updatedTs: 200, attributes: { plan: 'pro', city: 'Oslo' } });
        expect(g.profile(p)?.versions).toMatchObject({ plan: [200, 'r1'], city: [100, 'r2'] });
      });
    });

    describe('when a record adds a new email to it', () => {
      it('then the new email is linked and the email attribute holds the last-seen value', () => {
        const g = emptyGraph();
        const p = applyTo(g, rec('r1', 100, { customer_id: 'c1', email: 'a@x.io' }));
        g.apply(rec('r2', 200, { customer_id: 'c1', email: 'b@x.io' }));
        expect(idsOf(g, p)).toEqual(['customer_id:c1', 'email:a@x.io', 'email:b@x.io']);
        expect(g.profile(p)?.attributes).toEqual({ customer_id: 'c1', email: 'b@x.io' });
      });
    });
  });

  describe('given attribute writes (last writer wins by (ts, record id))', () => {
    it('when two records share a ts, then the greater record id wins whatever the order', () => {
      for (const order of [['ra', 'rb'], ['rb', 'ra']]) {
        const g = emptyGraph();
        let p = '';
        for (const id of order) p = applyTo(g, rec(id, 100, { email: 'a@x.io', plan: id }));
        expect(g.profile(p)?.attributes.plan).toBe('rb');
      }
    });

    it('when null is written, then the attribute is removed but its version kept, and older writes cannot revive it', () => {
      const g = emptyGraph();
      const p = applyTo(g, rec('r1', 100, { email: 'a@x.io', plan: 'pro', tags: ['a', 'b'] }));
      g.apply(rec('r2', 300, { email: 'a@x.io', plan: null }));
      g.apply(rec('r3', 200, { email: 'a@x.io', plan: 'free' }));
      expect(g.profile(p)?.attributes).toEqual({ email: 'a@x.io', tags: ['a', 'b'] });
      expect(g.profile(p)?.versions.plan).toEqual([300, 'r2']);
      g.apply(rec('r4', 400, { email: 'a@x.io', plan: 'team' }));
      expect(g.profile(p)?.attributes.plan).toBe('team');
    });

    it('when a null identifier value arrives, then it is blocked and does not clear the identifier attribute', () => {
      const g = emptyGraph();
      const p = applyTo(g, rec('r1', 100, { email: 'a@x.io', phone: '5550109999' }));
      g.apply(rec('r2', 200, { email: 'a@x.io', phone: null }));
      expect(g.profile(p)?.attributes.phone).toBe('+15550109999');
    });
  });

  describe('given two known profiles', () => {
    // P1 created at ts 100 via email, P2 created earlier (ts 50) via phone.
    const setup = () => {
      const g = emptyGraph();
      const p1 = applyTo(g, rec('r1', 100, { email: 'a@x.io', name: 'Ann', city: 'Oslo' }));
      const p2 = applyTo(g, rec('r2', 50, { phone: '+4799999999', name: 'Anne', plan: 'pro' }));
      return { g, p1, p2 };
    };

    describe('when a record links them through two high-confidence identifiers', () => {
      const { g, p1, p2 } = setup();
      const out = g.apply(rec('r3', 200, { email: 'a@x.io', phone: '+47 999 99 999', vip: true }));

      it('then they merge and the earliest created profile survives', () => {
        expect(out).toEqual({ profileId: p2, created: false, mergedProfileIds: [p1], warnings: [] });
        expect(g.profile(p1)?.mergedInto).toBe(p2);
        expect(g.profile(p2)).toMatchObject({ mergedInto: null, createdTs: 50, createdRecordId: 'r2', updatedTs: 200 });
      });

      it("then the loser's identifier rows are re-pointed to the survivor", () => {
        expect(idsOf(g, p2)).toEqual(['email:a@x.io', 'phone:+4799999999']);
        expect(g.identifiersOf(p1)).toEqual([]);
        expect(ownerOf(g, 'email', 'a@x.io')).toBe(p2);
      });

      it('then attributes merge per attribute by last writer', () => {
        expect(g.profile(p2)?.attributes).toEqual({
          email: 'a@x.io',
          phone: '+4799999999',
          name: 'Ann', // ts 100 beats ts 50
          city: 'Oslo',
          plan: 'pro',
          vip: true,
        });
      });

      it('then dirty() holds both profiles and both identifier rows with final values', () => {
        const dirty = g.dirty();
        expect(dirty.profiles.map((p) => p.id).sort()).toEqual([p1, p2].sort());
        expect(dirty.identifiers.every((l) => l.profileId === p2)).toBe(true);
      });

      it("then the loser's zaius_id resolves to the survivor (a later record naming it applies there)", () => {
        expect(g.resolveProfile({ type: 'zaius_id', value: p1 })?.id).toBe(p2);
        expect(applyTo(g, rec('r4', 300, { zaius_id: p1.toUpperCase(), x: 1 }))).toBe(p2);
      });
    });

    describe('when they are created at the same ts', () => {
      it('then the profile of the smaller creating record id survives', () => {
        const g = emptyGraph();
        const pb = applyTo(g, rec('rb', 100, { email: 'b@x.io' }));
        const pa = applyTo(g, rec('ra', 100, { email: 'a@x.io' }));
        expect(applyTo(g, rec('rc', 100, { email: 'a@x.io', phone: '5550000001' }))).toBe(pa);
        expect(g.apply(rec('rd', 100, { email: 'b@x.io', phone: '5550000001' }))).toMatchObject({ profileId: pa, mergedProfileIds: [pb] });
      });
    });

    describe('when the loser holds a newer null write', () => {
      it('then the attribute is cleared on the survivor', () => {
        const { g, p1, p2 } = setup();
        g.apply(rec('r3', 400, { email: 'a@x.io', plan: null }));
        g.apply(rec('r4', 500, { email: 'a@x.io', phone: '+4799999999' }));
        expect(g.profile(p2)?.attributes).not.toHaveProperty('plan');
        expect(g.profile(p2)?.versions.plan).toEqual([400, 'r3']);
        expect(g.profile(p1)?.mergedInto).toBe(p2);
      });
    });

    describe('when the merged profile is merged again into an even earlier one', () => {
      it('then every profile pointing at the loser is re-pointed to the new survivor (flat chains)', () => {
        const { g, p1, p2 } = setup();
        g.apply(rec('r3', 200, { email: 'a@x.io', phone: '+4799999999' })); // p1 → p2
        const p0 = applyTo(g, rec('r0', 10, { email: 'z@x.io' }));
        const out = g.apply(rec('r5', 300, { email: 'z@x.io', phone: '+4799999999' })); // p2 → p0
        expect(out).toMatchObject({ profileId: p0, mergedProfileIds: [p2] });
        expect(g.profile(p2)?.mergedInto).toBe(p0);
        expect(g.profile(p1)?.mergedInto).toBe(p0);
        expect(g.dirty().profiles.find((p) => p.id === p1)?.mergedInto).toBe(p0);
      });
    });
  });

  describe('given merge protection (customer_id has a per-profile limit of 1)', () => {
    const setup = () => {
      const g = emptyGraph();
      const p1 = applyTo(g, rec('r1', 100, { customer_id: 'c1', email: 'a@x.io', name: 'One' }));
      const p2 = applyTo(g, rec('r2', 50, { customer_id: 'c2', email: 'b@x.io', phone: '5550000002' }));
      return { g, p1, p2 };
    };

    describe("when a record joins customer c1 with customer c2's email", () => {
      const { g, p1, p2 } = setup();
      const out = g.apply(rec('r3', 200, { customer_id: 'c1', email: 'b@x.io', name: 'Uno' }));

      it('then nothing merges and the record applies to the profile of its highest-priority identifier', () => {
        expect(out.profileId).toBe(p1);
        expect(out.mergedProfileIds).toEqual([]);
        expect(g.profile(p2)?.mergedInto).toBeNull();
        expect(g.profile(p1)?.attributes.name).toBe('Uno');
      });

      it('then the conflicting email stays with its owner, is not written as attribute, and warnings say why', () => {
        expect(ownerOf(g, 'email', 'b@x.io')).toBe(p2);
        expect(g.profile(p1)?.attributes.email).toBe('a@x.io');
        expect(out.warnings).toEqual([
          `profile ${p2} (found by email) not merged: it holds another customer_id (merge protection)`,
          `email not linked: it belongs to profile ${p2} (merge protection)`,
        ]);
      });
    });

    describe('when a record without customer_id touches both customers', () => {
      it('then the profile found by the highest-priority identifier wins and the other is not merged', () => {
        const { g, p1, p2 } = setup();
        const out = g.apply(rec('r3', 200, { phone: '5550000002', email: 'a@x.io' }));
        expect(out.profileId).toBe(p1); // email (priority 2) before phone (priority 3)
        expect(g.profile(p2)?.mergedInto).toBeNull();
        expect(ownerOf(g, 'phone', '+15550000002')).toBe(p2);
      });
    });

    describe('when a record names a new customer id with an email that belongs to another customer', () => {
      it('then a new profile is started for the new customer and the email stays', () => {
        const { g, p1 } = setup();
        const out = g.apply(rec('r3', 200, { customer_id: 'c3', email: 'a@x.io' }));
        expect(out).toMatchObject({ profileId: profileIdFor('r3'), created: true });
        expect(idsOf(g, out.profileId!)).toEqual(['customer_id:c3']);
        expect(ownerOf(g, 'email', 'a@x.io')).toBe(p1);
      });
    });

    describe('when compatible and conflicting profiles are found together', () => {
      it('then the compatible ones merge and only the conflicting one is left out', () => {
        const { g, p1, p2 } = setup();
        const p3 = applyTo(g, rec('r0', 10, { phone: '5550000003' })); // no customer_id, created first
        const out = g.apply(rec('r3', 200, { customer_id: 'c1', email: 'b@x.io', phone: '5550000003' }));
        expect(out.profileId).toBe(p3);
        expect(out.mergedProfileIds).toEqual([p1]);
        expect(g.profile(p2)?.mergedInto).toBeNull();
        expect(idsOf(g, p3)).toEqual(['customer_id:c1', 'email:a@x.io', 'phone:+15550000003']);
      });
    });

    describe('when a record names a profile by zaius_id and brings a different customer_id', () => {
      it('then it applies to that profile and the second customer_id is not linked', () => {
        const { g, p1 } = setup();
        const out = g.apply(rec('r3', 200, { zaius_id: p1, customer_id: 'c9', plan: 'x' }));
        expect(out.profileId).toBe(p1);
        expect(out.warnings).toEqual([`customer_id not linked: profile ${p1} already holds 1 value(s) of it (per-profile limit)`]);
        expect(idsOf(g, p1)).toEqual(['customer_id:c1', 'email:a@x.io']);
        expect(g.profile(p1)?.attributes).toMatchObject({ customer_id: 'c1', plan: 'x' });
        expect(ownerOf(g, 'customer_id', 'c9')).toBeUndefined();
      });
    });

    describe('when a custom high type has limit 1', () => {
      it('then it protects merges like customer_id', () => {
        const custom = rules.withCustomTypes([{ type: 'loyalty_id', confidence: 'high', perProfileLimit: 1 }]);
        const g = emptyGraph(custom);
        const p1 = applyTo(g, rec('r1', 1, { loyalty_id: 'L1', email: 'a@x.io' }));
        const p2 = applyTo(g, rec('r2', 2, { loyalty_id: 'L2', phone: '5550000002' }));
        const out = g.apply(rec('r3', 3, { email: 'a@x.io', phone: '5550000002' }));
        expect(out.profileId).toBe(p1);
        expect(g.profile(p2)?.mergedInto).toBeNull();
      });
    });
  });

  describe('given an anonymous profile (only low-confidence identifiers)', () => {
    describe('when its vuid is seen with the email of a known profile created after it', () => {
      // anon: created at 100 (cart, city Bergen), city Oslo at 250; known: created at 200 (name, city Rome).
      const g = emptyGraph();
      const anon = applyTo(g, rec('r1', 100, { vuid: 'v1', cart: 3, city: 'Bergen' }));
      g.apply(rec('r1b', 250, { vuid: 'v1', city: 'Oslo' }));
      const known = applyTo(g, rec('r2', 200, { email: 'a@x.io', name: 'Ann', city: 'Rome' }));
      const out = g.apply(rec('r3', 300, { email: 'a@x.io', vuid: 'v1' }));

      it('then the anonymous profile merges into the known one: the known id survives although it is younger', () => {
        expect(out).toEqual({ profileId: known, created: false, mergedProfileIds: [anon], warnings: [] });
        expect(g.profile(anon)?.mergedInto).toBe(known);
        expect(g.profile(known)).toMatchObject({ mergedInto: null, createdTs: 200, createdRecordId: 'r2', updatedTs: 300 });
      });

      it("then the anonymous profile's identifiers and data come along, per attribute by last writer", () => {
        expect(idsOf(g, known)).toEqual(['email:a@x.io', 'vuid:v1']);
        expect(idsOf(g, anon)).toEqual([]);
        expect(g.profile(known)?.attributes).toEqual({ vuid: 'v1', cart: 3, city: 'Oslo', email: 'a@x.io', name: 'Ann' });
        expect(g.profile(known)?.versions.city).toEqual([250, 'r1b']); // the anonymous side's later write wins
      });

      it("then the anonymous profile's old zaius_id leads to the known profile", () => {
        expect(g.resolveProfile({ type: 'zaius_id', value: anon })?.id).toBe(known);
        expect(g.apply(rec('r4', 400, { zaius_id: anon, plan: 'pro' }))).toMatchObject({ profileId: known, mergedProfileIds: [] });
        expect(g.profile(known)?.attributes.plan).toBe('pro');
      });
    });

    describe('when its vuid is seen with the email of a known profile created before it', () => {
      it('then the anonymous one merges into the known one as well', () => {
        const g = emptyGraph();
        const known = applyTo(g, rec('r1', 100, { email: 'a@x.io' }));
        const anon = applyTo(g, rec('r2', 200, { vuid: 'v1', cart: 3 }));
        const out = g.apply(rec('r3', 150, { email: 'a@x.io', vuid: 'v1' }));
        expect(out).toMatchObject({ profileId: known, mergedProfileIds: [anon] });
        expect(g.profile(known)?.attributes.cart).toBe(3);
      });
    });

    describe('when a record names it by zaius_id together with the email of a known profile created after it', () => {
      it('then it merges into the known profile (zaius_id is a high-confidence identifier; "into" still holds)', () => {
        const g = emptyGraph();
        const anon = applyTo(g, rec('r1', 100, { vuid: 'v1', cart: 3 }));
        const known = applyTo(g, rec('r2', 200, { email: 'a@x.io' }));
        const out = g.apply(rec('r3', 300, { zaius_id: anon, email: 'a@x.io', name: 'Ann' }));
        expect(out).toEqual({ profileId: known, created: false, mergedProfileIds: [anon], warnings: [] });
        expect(g.profile(known)?.attributes).toEqual({ vuid: 'v1', cart: 3, email: 'a@x.io', name: 'Ann' });
      });
    });

    describe('when two anonymous profiles meet the email of a known profile', () => {
      it('then both merge into the known profile', () => {
        const custom = rules.withCustomTypes([{ type: 'device_id', confidence: 'low' }]);
        const g = emptyGraph(custom);
        const a1 = applyTo(g, rec('r1', 100, { vuid: 'v1' }));
        const a2 = applyTo(g, rec('r2', 90, { device_id: 'd1' }));
        const known = applyTo(g, rec('r3', 500, { email: 'a@x.io' }));
        const out = g.apply(rec('r4', 600, { email: 'a@x.io', vuid: 'v1', device_id: 'd1' }));
        expect(out).toMatchObject({ profileId: known, mergedProfileIds: [a1, a2] });
        expect(idsOf(g, known)).toEqual(['email:a@x.io', 'vuid:v1', 'device_id:d1']);
      });
    });

    describe('when its vuid is seen with a new email', () => {
      it('then the anonymous profile gains the email and becomes known', () => {
        const g = emptyGraph();
        const anon = applyTo(g, rec('r1', 100, { vuid: 'v1' }));
        const out = g.apply(rec('r2', 50, { vuid: 'v1', email: 'new@x.io' }));
        expect(out).toEqual({ profileId: anon, created: false, mergedProfileIds: [], warnings: [] });
        expect(idsOf(g, anon)).toEqual(['email:new@x.io', 'vuid:v1']);
        // now known: its vuid no longer merges it into another person
        const other = applyTo(g, rec('r3', 300, { email: 'b@x.io' }));
        g.apply(rec('r4', 400, { email: 'b@x.io', vuid: 'v1' }));
        expect(g.profile(anon)?.mergedInto).toBeNull();
        expect(ownerOf(g, 'vuid', 'v1')).toBe(other);
      });
    });

    describe('when a record with a new email meets two anonymous profiles', () => {
      it('then they become one known profile: the earliest created gains the email, the other merges into it', () => {
        const custom = rules.withCustomTypes([{ type: 'device_id', confidence: 'low' }]);
        const g = emptyGraph(custom);
        const a1 = applyTo(g, rec('r1', 100, { vuid: 'v1' }));
        const a2 = applyTo(g, rec('r2', 90, { device_id: 'd1' }));
        const out = g.apply(rec('r3', 300, { email: 'a@x.io', vuid: 'v1', device_id: 'd1' }));
        expect(out).toMatchObject({ profileId: a2, mergedProfileIds: [a1] });
        expect(idsOf(g, a2)).toEqual(['email:a@x.io', 'vuid:v1', 'device_id:d1']);
      });
    });
  });

  describe('given a vuid owned by a known profile', () => {
    const setup = () => {
      const g = emptyGraph();
      const ann = applyTo(g, rec('r1', 100, { email: 'ann@x.io', vuid: 'v1' }));
      const bob = applyTo(g, rec('r2', 100, { email: 'bob@x.io', name: 'Bob' }));
      return { g, ann, bob };
    };

    describe("when it is seen with another known person's email in a newer record", () => {
      it('then the vuid moves to that person and the profiles do not merge', () => {
        const { g, ann, bob } = setup();
        const out = g.apply(rec('r3', 200, { email: 'bob@x.io', vuid: 'v1' }));
        expect(out).toEqual({ profileId: bob, created: false, mergedProfileIds: [], warnings: [] });
        expect(g.identifiersOf(bob).find((l) => l.type === 'vuid')).toMatchObject({ value: 'v1', firstSeen: 100, lastSeen: 200 });
        expect(idsOf(g, ann)).toEqual(['email:ann@x.io']);
        expect(g.profile(bob)?.attributes.vuid).toBe('v1');
      });
    });

    describe("when it is seen with another known person's email in a record that is not newer", () => {
      it('then the vuid stays with a warning and is not written to the other profile', () => {
        const { g, ann, bob } = setup();
        const out = g.apply(rec('r3', 100, { email: 'bob@x.io', vuid: 'v1' }));
        expect(out.profileId).toBe(bob);
        expect(out.warnings).toEqual([`vuid stays with profile ${ann}: the record is not newer than its last sighting`]);
        expect(ownerOf(g, 'vuid', 'v1')).toBe(ann);
        expect(g.profile(bob)?.attributes).not.toHaveProperty('vuid');
      });
    });

    describe('when it is seen with a brand-new email (a shared device)', () => {
      it('then a new profile is started and the vuid moves to it if the record is newer', () => {
        const { g, ann } = setup();
        const out = g.apply(rec('r3', 200, { email: 'carol@x.io', vuid: 'v1' }));
        expect(out).toMatchObject({ profileId: profileIdFor('r3'), created: true, mergedProfileIds: [] });
        expect(idsOf(g, out.profileId!)).toEqual(['email:carol@x.io', 'vuid:v1']);
        expect(idsOf(g, ann)).toEqual(['email:ann@x.io']);
      });

      it('then, with an older record, a new profile is started and the vuid stays', () => {
        const { g, ann } = setup();
        const out = g.apply(rec('r3', 50, { email: 'carol@x.io', vuid: 'v1' }));
        expect(out).toMatchObject({ profileId: profileIdFor('r3'), created: true });
        expect(idsOf(g, out.profileId!)).toEqual(['email:carol@x.io']);
        expect(ownerOf(g, 'vuid', 'v1')).toBe(ann);
      });
    });

    describe('when only low-confidence identifiers of two known profiles meet', () => {
      it('then nothing merges or moves and the record applies to the owner of the highest-priority one', () => {
        const custom = rules.withCustomTypes([{ type: 'device_id', confidence: 'low' }]);
        const g = emptyGraph(custom);
        const ann = applyTo(g, rec('r1', 100, { email: 'ann@x.io', device_id: 'd1' }));
        const bob = applyTo(g, rec('r2', 100, { email: 'bob@x.io', vuid: 'v2' }));
        const out = g.apply(rec('r3', 500, { device_id: 'd1', vuid: 'v2', seen: true }));
        expect(out).toEqual({
          profileId: bob, // vuid (priority 5) before device_id (priority 7)
          created: false,
          mergedProfileIds: [],
          warnings: [`device_id stays with profile ${ann}: low-confidence identifiers never merge profiles`],
        });
        expect(g.profile(ann)?.mergedInto).toBeNull();
        expect(ownerOf(g, 'device_id', 'd1')).toBe(ann);
        expect(g.profile(bob)?.attributes.seen).toBe(true);
      });

      it('then two anonymous profiles do not merge either', () => {
        const custom = rules.withCustomTypes([{ type: 'device_id', confidence: 'low' }]);
        const g = emptyGraph(custom);
        const a = applyTo(g, rec('r1', 1, { vuid: 'v1' }));
        const b = applyTo(g, rec('r2', 1, { device_id: 'd1' }));
        expect(applyTo(g, rec('r3', 2, { vuid: 'v1', device_id: 'd1' }))).toBe(a);
        expect(g.profile(b)?.mergedInto).toBeNull();
        expect(ownerOf(g, 'device_id', 'd1')).toBe(b);
      });
    });

    describe('when a new vuid arrives alone', () => {
      it('then a new anonymous profile is created', () => {
        const { g } = setup();
        const out = g.apply(rec('r3', 1, { vuid: 'v9' }));
        expect(out).toMatchObject({ profileId: profileIdFor('r3'), created: true });
      });
    });

    describe('when a known vuid arrives with a new vuid', () => {
      it('then the new vuid is linked to the owner of the known one', () => {
        const custom = rules.withCustomTypes([{ type: 'device_id', confidence: 'low' }]);
        const g = emptyGraph(custom);
        const ann = applyTo(g, rec('r1', 100, { email: 'ann@x.io', vuid: 'v1' }));
        g.apply(rec('r2', 200, { vuid: 'v1', device_id: 'd7' }));
        expect(idsOf(g, ann)).toEqual(['email:ann@x.io', 'vuid:v1', 'device_id:d7']);
      });
    });
  });

  describe('given zaius_id', () => {
    const UNKNOWN = '0190d5c4-7b1e-7000-8000-0000000000aa';

    describe('when it is a UUID that names no profile and the email is new', () => {
      const g = emptyGraph();
      const out = g.apply(rec('r1', 1, { zaius_id: UNKNOWN.toUpperCase(), email: 'a@x.io' }));

      it('then the record starts a profile of its own id, never one with the unknown id', () => {
        expect(out).toEqual({ profileId: profileIdFor('r1'), created: true, mergedProfileIds: [], warnings: ['zaius_id names no known profile: ignored'] });
        expect(g.profile(UNKNOWN)).toBeUndefined();
        expect(g.dirty().profiles.map((p) => p.id)).toEqual([profileIdFor('r1')]);
        expect(ownerOf(g, 'email', 'a@x.io')).toBe(profileIdFor('r1'));
      });
    });

    describe('when it is a UUID that names no profile and the email is known', () => {
      it('then the record applies to the email’s profile with a warning', () => {
        const g = emptyGraph();
        const p = applyTo(g, rec('r1', 1, { email: 'a@x.io' }));
        const out = g.apply(rec('r2', 2, { zaius_id: UNKNOWN, email: 'a@x.io', plan: 'pro' }));
        expect(out).toEqual({ profileId: p, created: false, mergedProfileIds: [], warnings: ['zaius_id names no known profile: ignored'] });
        expect(g.profile(p)?.attributes).toEqual({ email: 'a@x.io', plan: 'pro' });
        expect(g.profile(UNKNOWN)).toBeUndefined();
      });
    });

    describe('when it is a UUID that names no profile and the record has no other identifier', () => {
      it('then nothing changes: no profile, no row, a warning', () => {
        const g = emptyGraph();
        const out = g.apply(rec('r1', 1, { zaius_id: UNKNOWN, plan: 'pro' }));
        expect(out).toEqual({
          profileId: null,
          created: false,
          mergedProfileIds: [],
          warnings: ['zaius_id names no known profile: ignored', 'record has no identifier besides an unknown zaius_id: nothing applied'],
        });
        expect(g.dirty()).toEqual({ profiles: [], identifiers: [], removed: [] });
        expect(g.apply(rec('r1', 1, { zaius_id: UNKNOWN, plan: 'pro' })).profileId).toBeNull();
      });
    });

    describe('when many records of different people carry the same unknown zaius_id ("test", as old versions accepted)', () => {
      const g = emptyGraph();
      const outs = ['ann', 'bob', 'cy'].map((name, i) => g.apply(rec(`r${i}`, i, { zaius_id: 'test', email: `${name}@x.io`, name })));

      it('then nobody merges: each person has a profile of their own, none has the id "test"', () => {
        expect(outs.map((o) => o.profileId)).toEqual([profileIdFor('r0'), profileIdFor('r1'), profileIdFor('r2')]);
        expect(outs.flatMap((o) => o.mergedProfileIds)).toEqual([]);
        for (const o of outs) expect(idsOf(g, o.profileId!)).toHaveLength(1);
        expect(g.profile('test')).toBeUndefined();
      });

      it('then each record warns that the zaius_id was ignored (never poison)', () => {
        for (const o of outs) expect(o.warnings).toEqual(['zaius_id ignored: must be a UUID']);
      });
    });

    describe('when a replayed record carries a non-UUID zaius_id that an old version used as a profile id', () => {
      it('then it does not apply to that profile: it is not an identifier any more', () => {
        const legacy: ProfileState = { id: 'test', attributes: {}, versions: {}, createdTs: 1, createdRecordId: 'r0', updatedTs: 1, mergedInto: null };
        const g = new IdentityGraph(rules, { profiles: [legacy], identifiers: [] });
        expect(g.apply(rec('r1', 2, { zaius_id: 'test', plan: 'x' }))).toMatchObject({ profileId: null, created: false });
        const out = g.apply(rec('r2', 3, { zaius_id: 'test', vuid: 'v1' }));
        expect(out.profileId).toBe(profileIdFor('r2'));
        expect(g.profile('test')).toEqual(legacy);
      });
    });

    describe('when it names a known profile and brings a new email', () => {
      it('then the email joins that profile', () => {
        const g = emptyGraph();
        const p = applyTo(g, rec('r1', 1, { email: 'a@x.io' }));
        expect(g.apply(rec('r2', 2, { zaius_id: p.toUpperCase(), email: 'b@x.io' }))).toEqual({ profileId: p, created: false, mergedProfileIds: [], warnings: [] });
        expect(idsOf(g, p)).toEqual(['email:a@x.io', 'email:b@x.io']);
      });
    });

    describe('when it names a known profile and brings the email of another known profile', () => {
      it('then they merge like any two profiles found by high-confidence identifiers: the earliest created survives', () => {
        const g = emptyGraph();
        const p1 = applyTo(g, rec('r1', 1, { email: 'a@x.io' }));
        const p2 = applyTo(g, rec('r2', 2, { email: 'b@x.io' }));
        expect(g.apply(rec('r3', 3, { zaius_id: p2, email: 'a@x.io' }))).toMatchObject({ profileId: p1, mergedProfileIds: [p2] });
      });

      it('then, under merge protection, it applies to the named profile and the email stays with its owner', () => {
        const g = emptyGraph();
        const p1 = applyTo(g, rec('r1', 1, { customer_id: 'c1', email: 'a@x.io' }));
        const p2 = applyTo(g, rec('r2', 2, { customer_id: 'c2', email: 'b@x.io' }));
        const out = g.apply(rec('r3', 3, { zaius_id: p2, email: 'a@x.io', plan: 'x' }));
        expect(out).toEqual({
          profileId: p2,
          created: false,
          mergedProfileIds: [],
          warnings: [
            `profile ${p1} (found by email) not merged: it holds another customer_id (merge protection)`,
            `email not linked: it belongs to profile ${p1} (merge protection)`,
          ],
        });
        expect(g.profile(p2)?.attributes).toEqual({ customer_id: 'c2', email: 'b@x.io', plan: 'x' });
      });
    });
  });

  describe('given per-profile limits on linking', () => {
    it('when a profile already holds its customer_id, then a second one is not linked', () => {
      const g = emptyGraph();
      const p = applyTo(g, rec('r1', 1, { customer_id: 'c1', email: 'a@x.io' }));
      // found by email only; the record's own customer_id c2 conflicts with the profile → new profile
      const out = g.apply(rec('r2', 2, { email: 'a@x.io', customer_id: 'c2' }));
      expect(out.profileId).not.toBe(p);
      expect(idsOf(g, p)).toEqual(['customer_id:c1', 'email:a@x.io']);
    });

    it('when a low custom type has limit 1, then an anonymous profile holding another value is not merged in', () => {
      const custom = rules.withCustomTypes([{ type: 'device_id', confidence: 'low', perProfileLimit: 1 }]);
      const g = emptyGraph(custom);
      const known = applyTo(g, rec('r1', 1, { email: 'a@x.io', device_id: 'd1' }));
      const anon = applyTo(g, rec('r2', 2, { vuid: 'v1', device_id: 'd2' }));
      const out = g.apply(rec('r3', 3, { email: 'a@x.io', vuid: 'v1' }));
      expect(out.profileId).toBe(known);
      expect(g.profile(anon)?.mergedInto).toBeNull();
      expect(out.warnings).toEqual([`anonymous profile ${anon} (found by vuid) not merged: it holds another device_id (merge protection)`]);
    });
  });

  describe('given idempotency', () => {
    const records = [
      rec('r1', 100, { email: 'a@x.io', vuid: 'v1', name: 'A' }),
      rec('r2', 90, { phone: '5550000001', vuid: 'v2' }),
      rec('r3', 300, { email: 'a@x.io', phone: '5550000001', name: null }),
      rec('r4', 200, { email: 'c@x.io', vuid: 'v1' }),
      rec('r5', 400, { customer_id: 'c9', email: 'a@x.io', vuid: 'v3' }),
      rec('r6', 10, { vuid: 'v3', device: 'ios' }),
    ];

    it('when every record is applied twice in a row, then the second application changes nothing', () => {
      const g = emptyGraph();
      for (const r of records) {
        const first = g.apply(r);
        const before = stateOf(g);
        const second = g.apply(r);
        expect(stateOf(g)).toEqual(before);
        expect(second).toMatchObject({ profileId: first.profileId, created: false, mergedProfileIds: [] });
      }
    });

    it('when the same record is applied again after a persist/reload, then dirty() is empty', () => {
      const g = emptyGraph();
      for (const r of records) g.apply(r);
      const reloaded = new IdentityGraph(rules, stateOf(g));
      for (const r of records.slice(-2)) reloaded.apply(r);
      expect(reloaded.dirty()).toEqual({ profiles: [], identifiers: [], removed: [] });
    });
  });

  describe('given a snapshot', () => {
    const profile = (id: string, createdTs: number, extra: Partial<ProfileState> = {}): ProfileState => ({
      id,
      attributes: {},
      versions: {},
      createdTs,
      createdRecordId: `rec-${id}`,
      updatedTs: createdTs,
      mergedInto: null,
      ...extra,
    });
    const link = (type: string, value: string, profileId: string, confidence: IdentifierLink['confidence'] = 'high'): IdentifierLink => ({
      type,
      value,
      profileId,
      confidence,
      firstSeen: 1,
      lastSeen: 1,
    });

    it('when nothing is applied, then dirty() is empty and the input objects are never mutated', () => {
      const snapshot: GraphSnapshot = {
        profiles: [profile('p1', 1, { attributes: { email: 'a@x.io' }, versions: { email: [1, 'rec-p1'] } }), profile('p2', 2)],
        identifiers: [link('email', 'a@x.io', 'p1'), link('email', 'b@x.io', 'p2')],
      };
      const copy = structuredClone(snapshot);
      const g = new IdentityGraph(rules, snapshot);
      expect(g.dirty()).toEqual({ profiles: [], identifiers: [], removed: [] });
      g.apply(rec('r9', 5, { email: 'a@x.io', phone: '5550000009' }));
      g.apply(rec('r10', 6, { email: 'b@x.io', phone: '5550000009' }));
      expect(snapshot).toEqual(copy);
      expect(g.profile('p2')?.mergedInto).toBe('p1');
    });

    it('when a merged profile is on a chain from an earlier batch, then its zaius_id resolves through the chain', () => {
      const [old, mid, root] = ['0190d5c4-0000-7000-8000-000000000001', '0190d5c4-0000-7000-8000-000000000002', '0190d5c4-0000-7000-8000-000000000003'];
      const g = new IdentityGraph(rules, {
        profiles: [profile(old, 5, { mergedInto: mid }), profile(mid, 3, { mergedInto: root }), profile(root, 1)],
        identifiers: [link('email', 'a@x.io', root)],
      });
      expect(g.resolveProfile({ type: 'zaius_id', value: old })?.id).toBe(root);
      expect(applyTo(g, rec('r1', 9, { zaius_id: old, plan: 'x' }))).toBe(root);
    });

    it('when an identifier row points at a profile that was not loaded, then construction fails loudly', () => {
      expect(() => new IdentityGraph(rules, { profiles: [], identifiers: [link('email', 'a@x.io', 'p1')] })).toThrow(IncompleteSnapshotError);
    });

    it('when a mergedInto chain leaves the snapshot, then resolving through it fails loudly', () => {
      const old = '0190d5c4-0000-7000-8000-000000000001';
      const g = new IdentityGraph(rules, { profiles: [profile(old, 5, { mergedInto: 'gone' })], identifiers: [] });
      expect(() => g.apply(rec('r1', 9, { zaius_id: old }))).toThrow(IncompleteSnapshotError);
    });
  });

  describe('given reserved attribute names in a replayed record', () => {
    it('when __proto__ is among the attributes, then it is skipped with a warning', () => {
      const g = emptyGraph();
      const attributes = JSON.parse('{"email":"a@x.io","__proto__":{"polluted":true}}') as Attributes;
      const out = g.apply(rec('r1', 1, attributes));
      expect(out.warnings).toEqual(['attribute __proto__ ignored: reserved name']);
      expect(Object.getPrototypeOf(g.profile(out.profileId!)?.attributes)).toBe(Object.prototype);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });
});

describe('IdentityGraph kept across batches (takeDirty)', () => {
  describe('given a graph that took the rows of a first batch', () => {
    const g = emptyGraph();
    const ann = applyTo(g, rec('r1', 1_000, { email: 'ann@x.io', vuid: 'dev-1' }));
    applyTo(g, rec('r2', 1_001, { email: 'bob@x.io' }));
    const first = g.takeDirty();

    describe('when a second batch changes one of them and merges nothing', () => {
      applyTo(g, rec('r3', 2_000, { email: 'ann@x.io', city: 'Oslo' }));
      const second = g.takeDirty();

      it('then the first take held every row, the second only the profile and identifier rows the second batch touched', () => {
        expect(first.profiles.map((p) => p.id).sort()).toEqual([ann, profileIdFor('r2')].sort());
        expect(first.identifiers.map((i) => `${i.type}:${i.value}`).sort()).toEqual(['email:ann@x.io', 'email:bob@x.io', 'vuid:dev-1']);
        expect(second.profiles.map((p) => [p.id, p.attributes.city])).toEqual([[ann, 'Oslo']]);
        expect(second.identifiers.map((i) => `${i.type}:${i.value}:${i.lastSeen}`)).toEqual(['email:ann@x.io:2000']);
      });

      it('then nothing is left to take, and the graph still holds both profiles', () => {
        expect(g.takeDirty()).toEqual({ profiles: [], identifiers: [], removed: [] });
        expect(g.size).toBe(2);
      });
    });
  });

  describe('given a link taken in one batch', () => {
    const g = emptyGraph();
    const ann = applyTo(g, rec('r1', 1_000, { email: 'ann@x.io', vuid: 'dev-1' }));
    g.takeDirty();

    describe('when the next batch unlinks it', () => {
      g.unlink({ type: 'vuid', value: 'dev-1' }, ann, { recordId: 'r2', ts: 2_000 });
      const taken = g.takeDirty();

      it('then that take reports the row as removed (the store deletes it), and the next one no longer does', () => {
        expect(taken.removed).toEqual([{ type: 'vuid', value: 'dev-1' }]);
        expect(g.takeDirty().removed).toEqual([]);
      });
    });
  });
});
