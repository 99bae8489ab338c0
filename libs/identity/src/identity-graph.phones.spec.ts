import { IdentifierRules } from './identifier-rules';
import { IdentityGraph } from './identity-graph';
import { phoneReason } from './phone-number';
import type { Attributes, ProfileUpsert } from './types';

const rec = (recordId: string, ts: number, attributes: Attributes): ProfileUpsert => ({ recordId, ts, attributes });
const graph = (rules = IdentifierRules.defaults()) => new IdentityGraph(rules, { profiles: [], identifiers: [] });

describe('IdentityGraph with E.164 phones (DESIGN §5)', () => {
  describe('given one number written three ways (default region US)', () => {
    const g = graph();
    const outs = ['555-867-5309', '+1 (555) 867-5309', '15558675309', '(555) 867-5309'].map((phone, i) =>
      g.apply(rec(`r${i}`, 100 + i, { phone, [`seen_${i}`]: true })),
    );

    it('then every record applies to one profile holding the single identifier +15558675309', () => {
      const id = outs[0].profileId!;
      expect(outs.map((o) => o.profileId)).toEqual([id, id, id, id]);
      expect(g.identifiersOf(id).map((l) => `${l.type}:${l.value}`)).toEqual(['phone:+15558675309']);
      expect(g.profile(id)?.attributes).toMatchObject({ seen_0: true, seen_1: true, seen_2: true, seen_3: true });
    });
  });

  describe('given a record on the log with a phone accepted by the old rule (≥ 7 digits) but not possible now', () => {
    it('when it also has an email, then it applies by the email and the phone is ignored with a warning (never a dead letter)', () => {
      const g = graph();
      const out = g.apply(rec('old1', 100, { email: 'a@x.io', phone: '1234567', plan: 'pro' }));
      expect(out.warnings).toEqual([`phone ignored: ${phoneReason('US')}`]);
      expect(g.identifiersOf(out.profileId!).map((l) => `${l.type}:${l.value}`)).toEqual(['email:a@x.io']);
      expect(g.profile(out.profileId!)?.attributes.plan).toBe('pro');
    });
    it('when the phone was its only identifier, then it still applies (to a profile of its own) with warnings', () => {
      const out = graph().apply(rec('old2', 100, { phone: '+12-3456-7', plan: 'pro' }));
      expect(out.profileId).not.toBeNull();
      expect(out.warnings).toContain(`phone ignored: ${phoneReason('US')}`);
    });
  });

  describe('given a tenant whose default region is GB', () => {
    it('when a national and an international spelling arrive, then they are one identifier', () => {
      const g = graph(IdentifierRules.defaults().withDefaultRegion('GB'));
      const a = g.apply(rec('g1', 1, { phone: '020 7946 0958' }));
      const b = g.apply(rec('g2', 2, { phone: '+44 20 7946 0958' }));
      expect(b.profileId).toBe(a.profileId);
      expect(g.identifiersOf(a.profileId!).map((l) => l.value)).toEqual(['+442079460958']);
    });
  });
});
