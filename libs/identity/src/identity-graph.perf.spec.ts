import { IdentifierRules } from './identifier-rules';
import { IdentityGraph } from './identity-graph';
import type { Attributes, ProfileUpsert } from './types';

/** Deterministic workload: 60k people, realistic identifier mix, 20 attributes per record. */
function workload(n: number): ProfileUpsert[] {
  let seed = 42;
  const rnd = (k: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % k;
  };
  const out: ProfileUpsert[] = [];
  for (let i = 0; i < n; i++) {
    const p = rnd(60_000);
    const a: Attributes = { first_name: `N${p}`, score: rnd(100), tags: ['a', 'b'], plan: rnd(3) ? 'pro' : null };
    const k = rnd(6);
    if (k === 0) a.customer_id = `c${p}`;
    if (k <= 2) a.email = `User${p}.${rnd(2)}@Example.com`;
    if (k === 1 || k === 3) a.phone = `+1 555 ${String(p).padStart(7, '0')}`;
    a.vuid = `v${rnd(120_000)}`;
    for (let j = 0; j < 15; j++) a[`attr_${j}`] = j;
    out.push({ recordId: `0190d5c4-${String(i).padStart(12, '0')}`, ts: 1_700_000_000_000 + rnd(1_000_000), attributes: a });
  }
  return out;
}

describe('IdentityGraph throughput', () => {
  describe('given 40,000 records applied in batches of 1,000 (the worker shape)', () => {
    it('when applied and dirty rows collected per batch, then it stays far above 20,000 records/s', () => {
      const rules = IdentifierRules.defaults();
      const records = workload(40_000);
      const started = performance.now();
      for (let i = 0; i < records.length; i += 1_000) {
        const graph = new IdentityGraph(rules, { profiles: [], identifiers: [] });
        for (let j = i; j < i + 1_000; j++) graph.apply(records[j]);
        graph.dirty();
      }
      const perSecond = records.length / ((performance.now() - started) / 1_000);
      // Measured ~90k/s on a dev machine; the bound is loose (shared CI) but catches O(n²) regressions.
      expect(perSecond).toBeGreaterThan(10_000);
    });
  });
});
