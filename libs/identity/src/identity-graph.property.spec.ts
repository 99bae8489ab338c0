import fc from 'fast-check';
import { IdentifierRules, isBlockedIdentifierValue } from './identifier-rules';
import { IdentityGraph } from './identity-graph';
import { profileIdFor } from './profile-id';
import { SnapshotStore } from './testing/snapshot-store';
import type { AttributeValue, Attributes, ProfileUpsert } from './types';

const rules = IdentifierRules.defaults();
const NUM_RUNS = 300;

// ---- generators ---------------------------------------------------------------------------------

const attributeValue: fc.Arbitrary<AttributeValue> = fc.oneof(
  fc.constantFrom('x', 'y', 'z'),
  fc.integer({ min: 0, max: 3 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.constantFrom('t1', 't2', 3), { maxLength: 2 }),
);
const plainAttributes: fc.Arbitrary<Attributes> = fc.record(
  { name: attributeValue, score: attributeValue, tags: attributeValue },
  { requiredKeys: [] },
);
/** Few distinct timestamps so (ts, recordId) ties are common. */
const ts = fc.integer({ min: 1, max: 6 }).map((n) => n * 1_000);

/** Gives each record a unique id; ids are random relative to array order so LWW ties are not biased. */
function withRecordIds(items: Array<{ ts: number; attributes: Attributes }>, idSeeds: number[]): ProfileUpsert[] {
  return items.map((item, i) => ({ recordId: `r${String(idSeeds[i]).padStart(4, '0')}`, ts: item.ts, attributes: item.attributes }));
}
/** Record ids r0000–r0099: small enough that zaius_ids minted as profileIdFor('r0001') collide with real records. */
const records = (item: fc.Arbitrary<{ ts: number; attributes: Attributes }>, maxLength = 25) =>
  fc
    .array(item, { minLength: 1, maxLength })
    .chain((items) =>
      fc
        .uniqueArray(fc.integer({ min: 0, max: 99 }), { minLength: items.length, maxLength: items.length })
        .map((seeds) => withRecordIds(items, seeds)),
    );

/** High-confidence only, shared pools of emails/phones (spelled differently), no customer_id: merges, never protection. */
const sharedPoolRecord = fc
  .record({
    ts,
    email: fc.option(fc.constantFrom('a@x.io', 'A@X.io', ' b@x.io', 'c@x.io', 'd@x.io', 'e@x.io'), { nil: undefined }),
    phone: fc.option(fc.constantFrom('5550000001', '+1 555 000 0002', '555-000-0003', '+15550000002'), { nil: undefined }),
    attributes: plainAttributes,
  })
  .filter((r) => r.email !== undefined || r.phone !== undefined)
  .map(({ ts, email, phone, attributes }) => ({
    ts,
    attributes: { ...attributes, ...(email !== undefined && { email }), ...(phone !== undefined && { phone }) },
  }));

/** Persons with disjoint identifiers and at most one customer_id each: merges happen, protection never triggers. */
const personRecord = fc
  .record({
    ts,
    person: fc.integer({ min: 0, max: 3 }),
    customerId: fc.boolean(),
    email: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    phone: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }),
    attributes: plainAttributes,
  })
  .filter((r) => r.customerId || r.email !== undefined || r.phone !== undefined)
  .map(({ ts, person, customerId, email, phone, attributes }) => ({
    ts,
    attributes: {
      ...attributes,
      // person 0 and 1 have customer ids (1 as an integer); persons 2 and 3 have none
      ...(customerId && person < 2 && { customer_id: person === 1 ? 101 : ' cust-0 ' }),
      ...(email !== undefined && { email: `P${person}.${email}@x.io` }),
      ...(phone !== undefined && { phone: `+47 ${person}${phone} 00 00 00` }),
    } as Attributes,
  }))
  .filter((r) => Object.keys(r.attributes).some((k) => k === 'customer_id' || k === 'email' || k === 'phone'));

/** A UUID no record id maps to: a zaius_id that names no profile. */
const UNKNOWN_UUID = '0190d5c4-7b1e-7000-8000-00000000beef';

/** Everything: customer_id conflicts, vuids, zaius_ids (known, merged-away and unknown), blocked and invalid values. */
const mixedRecord = fc
  .record({
    ts,
    customer_id: fc.constantFrom('c1', 'c2', 7, 'guest'),
    email: fc.constantFrom('a@x.io', 'B@x.io', 'c@x.io', 'null', 'not-an-email'),
    phone: fc.constantFrom('5550000001', '5550000002', '123'),
    vuid: fc.constantFrom('v1', 'v2', 'v3', 'v4', 'anonymous'),
    zaius_id: fc.constantFrom(profileIdFor('r0001'), profileIdFor('r0002').toUpperCase(), profileIdFor('r0003'), 'zz-minted-1', 'test', UNKNOWN_UUID),
    attributes: plainAttributes,
  }, { requiredKeys: ['ts', 'attributes'] })
  .map(({ ts, attributes, ...identifiers }) => ({ ts, attributes: { ...attributes, ...identifiers } as Attributes }));

/** Any string a client might send as zaius_id, none naming a profile (record ids map to other UUIDs). */
const arbitraryZaiusId = fc.oneof(
  fc.constantFrom('test', 'TEST', ' test ', '1', 'undefined-id', UNKNOWN_UUID, UNKNOWN_UUID.toUpperCase()),
  fc.uuid(),
  fc.string({ minLength: 1, maxLength: 12 }),
);
/** Persons as in `personRecord` (plus a vuid of their own now and then), each record maybe with an arbitrary zaius_id. */
const personWithZaiusRecord = fc
  .record({
    ts,
    person: fc.integer({ min: 0, max: 3 }),
    customerId: fc.boolean(),
    email: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    phone: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }),
    vuid: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }),
    zaius: fc.option(arbitraryZaiusId, { nil: undefined }),
    attributes: plainAttributes,
  })
  .map(({ ts, person, customerId, email, phone, vuid, zaius, attributes }) => ({
    ts,
    attributes: {
      ...attributes,
      ...(customerId && person < 2 && { customer_id: person === 1 ? 101 : ' cust-0 ' }),
      ...(email !== undefined && { email: `P${person}.${email}@x.io` }),
      ...(phone !== undefined && { phone: `+47 ${person}${phone} 00 00 00` }),
      ...(vuid !== undefined && { vuid: `vuid-${person}.${vuid}` }),
      ...(zaius !== undefined && { zaius_id: zaius }),
    } as Attributes,
  }));
/**
 * The same records as if they had no zaius_id. A record whose only identifier was one (not a blocked
 * placeholder: those are never identifiers) is left out, as it changes nothing.
 */
const withoutZaiusIds = (rs: ProfileUpsert[]): ProfileUpsert[] =>
  rs.flatMap((r) => {
    const { zaius_id: zaius, ...attributes } = r.attributes;
    const placeholder = zaius === undefined || isBlockedIdentifierValue(String(zaius));
    const hasOther = ['customer_id', 'email', 'phone', 'vuid'].some((k) => Object.hasOwn(attributes, k));
    return placeholder || hasOther ? [{ ...r, attributes }] : [];
  });

const permutation = (n: number) => fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n });
const withTwoOrders = (recs: fc.Arbitrary<ProfileUpsert[]>) =>
  recs.chain((rs) => fc.tuple(fc.constant(rs), permutation(rs.length), permutation(rs.length)));
const withCuts = (recs: fc.Arbitrary<ProfileUpsert[]>) =>
  recs.chain((rs) => fc.tuple(fc.constant(rs), fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, rs.length - 1) }), { maxLength: 4 })));

// ---- helpers ------------------------------------------------------------------------------------

function runOneGraph(rs: ProfileUpsert[]): SnapshotStore {
  const store = new SnapshotStore();
  store.applyInBatches([rs], rules);
  return store;
}

function split<T>(items: T[], cuts: number[]): T[][] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < items.length))].sort((a, b) => a - b);
  const out: T[][] = [];
  let from = 0;
  for (const p of [...points, items.length]) {
    out.push(items.slice(from, p));
    from = p;
  }
  return out;
}

// ---- properties ---------------------------------------------------------------------------------

describe('IdentityGraph properties', () => {
  describe('given high-confidence upserts that never trigger merge protection', () => {
    it.each([
      ['shared pools of emails and phones', sharedPoolRecord],
      ['persons with one customer_id at most', personRecord],
    ])('when %s are applied in two random orders, then the identifier partition and attributes are the same', (_, item) => {
      fc.assert(
        fc.property(withTwoOrders(records(item)), ([rs, order1, order2]) => {
          const a = runOneGraph(order1.map((i) => rs[i]));
          const b = runOneGraph(order2.map((i) => rs[i]));
          expect(a.partition()).toEqual(b.partition());
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it('when persons never share identifiers, then no profile ever holds identifiers of two persons', () => {
      const personOf = (value: string) =>
        value.match(/^p(\d)\./)?.[1] ?? value.match(/^\+47(\d)/)?.[1] ?? (value === '101' ? '1' : value === 'cust-0' ? '0' : '?');
      fc.assert(
        fc.property(records(personRecord), (rs) => {
          const store = runOneGraph(rs);
          const personByProfile = new Map<string, string>();
          for (const l of store.identifiers.values()) {
            const person = personOf(l.value);
            expect(person).not.toBe('?');
            expect(personByProfile.get(l.profileId) ?? person).toBe(person);
            personByProfile.set(l.profileId, person);
          }
        }),
        { numRuns: NUM_RUNS },
      );
    });
  });

  describe('given any upserts (conflicts, low-confidence identifiers, zaius_ids, blocked values)', () => {
    it('when replayed in the same order, then the state is identical, ids included', () => {
      fc.assert(
        fc.property(records(mixedRecord), (rs) => {
          const a = new SnapshotStore();
          const b = new SnapshotStore();
          const outA = a.applyInBatches([rs], rules);
          const outB = b.applyInBatches([rs], rules);
          expect(a.canonical()).toEqual(b.canonical());
          expect(outA).toEqual(outB);
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it('when applied in batches with a persist/reload of only the pre-loaded slice in between, then the result equals one batch', () => {
      fc.assert(
        fc.property(withCuts(records(mixedRecord, 30)), ([rs, cuts]) => {
          const single = new SnapshotStore();
          const outSingle = single.applyInBatches([rs], rules);
          const batched = new SnapshotStore();
          const outBatched = batched.applyInBatches(split(rs, cuts), rules);
          expect(batched.canonical()).toEqual(single.canonical());
          expect(outBatched).toEqual(outSingle);
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it('when the high-confidence-only sets are batched, then the batch boundary does not matter either', () => {
      fc.assert(
        fc.property(withCuts(records(sharedPoolRecord, 30)), ([rs, cuts]) => {
          const single = new SnapshotStore();
          single.applyInBatches([rs], rules);
          const batched = new SnapshotStore();
          batched.applyInBatches(split(rs, cuts), rules);
          expect(batched.canonical()).toEqual(single.canonical());
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it('when every record is applied twice in a row, then the second application is a no-op', () => {
      fc.assert(
        fc.property(records(mixedRecord), (rs) => {
          const graph = new IdentityGraph(rules, { profiles: [], identifiers: [] });
          for (const r of rs) {
            const first = graph.apply(r);
            const before = graph.dirty();
            const second = graph.apply(r);
            expect(graph.dirty()).toEqual(before);
            expect(second.profileId).toBe(first.profileId);
            expect(second.mergedProfileIds).toEqual([]);
          }
          // and the final state equals applying each record once
          const once = runOneGraph(rs);
          const twice = new SnapshotStore();
          twice.save(graph.dirty());
          expect(twice.canonical()).toEqual(once.canonical());
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it('when the last record is re-applied on a reloaded graph, then nothing is dirty', () => {
      fc.assert(
        fc.property(records(mixedRecord), (rs) => {
          const store = runOneGraph(rs);
          const last = rs[rs.length - 1];
          const graph = new IdentityGraph(rules, store.load([last], rules));
          graph.apply(last);
          expect(graph.dirty()).toEqual({ profiles: [], identifiers: [], removed: [] });
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it('when any records are applied, then the graph invariants hold', () => {
      fc.assert(
        fc.property(records(mixedRecord, 40), (rs) => {
          const store = runOneGraph(rs);
          for (const l of store.identifiers.values()) {
            // identifier rows only point at live profiles
            expect(store.profiles.get(l.profileId)?.mergedInto).toBeNull();
            expect(l.firstSeen).toBeLessThanOrEqual(l.lastSeen);
          }
          // merged profiles point directly at a live survivor (flat in one batch; who survives: see the next property)
          for (const p of store.profiles.values()) {
            if (p.mergedInto === null) continue;
            expect(store.profiles.get(p.mergedInto)?.mergedInto).toBeNull();
          }
          // profile ids are only ever minted from record ids, never taken from a zaius_id
          const minted = new Set(rs.map((r) => profileIdFor(r.recordId)));
          for (const id of store.profiles.keys()) expect(minted.has(id)).toBe(true);
          // at most one customer_id per profile (merge protection), attributes never hold ts / zaius_id
          const customerIds = new Map<string, number>();
          for (const l of store.identifiers.values()) {
            if (l.type === 'customer_id') customerIds.set(l.profileId, (customerIds.get(l.profileId) ?? 0) + 1);
          }
          for (const n of customerIds.values()) expect(n).toBe(1);
          for (const p of store.profiles.values()) {
            expect(p.attributes).not.toHaveProperty('ts');
            expect(p.attributes).not.toHaveProperty('zaius_id');
            for (const name of Object.keys(p.attributes)) expect(p.versions).toHaveProperty(name);
          }
        }),
        { numRuns: NUM_RUNS },
      );
    });
  });

  describe('given merges (anonymous profiles merge into known ones)', () => {
    it('when profiles merge, then a known profile survives an anonymous one, and among equals the earliest created survives', () => {
      fc.assert(
        fc.property(records(mixedRecord, 40), (rs) => {
          const graph = new IdentityGraph(rules, { profiles: [], identifiers: [] });
          for (const r of rs) {
            const before = graph.dirty(); // the graph started empty: every row
            const known = new Set(before.identifiers.filter((l) => l.confidence !== 'low').map((l) => l.profileId));
            const created = new Map(before.profiles.map((p) => [p.id, [p.createdTs, p.createdRecordId, p.id].join('|')]));
            const out = graph.apply(r);
            for (const loser of out.mergedProfileIds) {
              const survivor = graph.profile(loser)!.mergedInto!;
              expect(survivor).toBe(out.profileId);
              if (known.has(loser)) expect(known.has(survivor)).toBe(true);
              if (known.has(loser) === known.has(survivor)) {
                const [s, l] = [graph.profile(survivor)!, graph.profile(loser)!];
                expect(s.createdTs < l.createdTs || (s.createdTs === l.createdTs && s.createdRecordId <= l.createdRecordId)).toBe(true);
              }
              expect(created.has(survivor)).toBe(true); // never a profile this record created
            }
          }
        }),
        { numRuns: NUM_RUNS },
      );
    });
  });

  describe('given zaius_ids that name no profile (any string: "test", random UUIDs, junk)', () => {
    it('when upserts carry them, then no two profiles that share no high-confidence identifier ever merge', () => {
      const personOf = (value: string) => value.match(/^p(\d)\./)?.[1] ?? value.match(/^\+47(\d)/)?.[1] ?? value.match(/^vuid-(\d)\./)?.[1] ?? (value === '101' ? '1' : value === 'cust-0' ? '0' : '?');
      fc.assert(
        fc.property(records(personWithZaiusRecord, 30), (rs) => {
          const store = runOneGraph(rs);
          const personByProfile = new Map<string, string>();
          for (const l of store.identifiers.values()) {
            const person = personOf(l.value);
            expect(person).not.toBe('?');
            expect(personByProfile.get(l.profileId) ?? person).toBe(person);
            personByProfile.set(l.profileId, person);
          }
          const minted = new Set(rs.map((r) => profileIdFor(r.recordId)));
          for (const id of store.profiles.keys()) expect(minted.has(id)).toBe(true);
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it('when upserts carry them, then the state is exactly that of the same upserts without them (in one batch or several)', () => {
      fc.assert(
        fc.property(withCuts(records(personWithZaiusRecord, 30)), ([rs, cuts]) => {
          const withIds = new SnapshotStore();
          withIds.applyInBatches(split(rs, cuts), rules);
          const without = new SnapshotStore();
          without.applyInBatches([withoutZaiusIds(rs)], rules);
          expect(withIds.canonical()).toEqual(without.canonical());
        }),
        { numRuns: NUM_RUNS },
      );
    });
  });
});
