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

/** Best-of-3 CPU microseconds per record to apply `records` into one graph and collect its dirty rows. */
function cpuMicrosPerRecord(records: ProfileUpsert[]): number {
  const rules = IdentifierRules.defaults();
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    const started = process.cpuUsage();
    const graph = new IdentityGraph(rules, { profiles: [], identifiers: [] });
    for (const r of records) graph.apply(r);
    graph.dirty();
    const used = process.cpuUsage(started);
    best = Math.min(best, (used.user + used.system) / records.length);
  }
  return best;
}

// Speed itself is measured by `npm run bench`; this guards the shape: the cost per record must not grow with
// the batch (an O(n²) step would make 8× the records cost 8× more each). Process CPU time, so other processes'
// load does not count, and best of three runs.
describe('IdentityGraph cost per record', () => {
  describe('given batches of 2,000 and of 16,000 records (the worker applies up to thousands per batch)', () => {
    it('when applied and dirty rows collected, then a record of the large batch costs less than 3× one of the small', () => {
      const records = workload(16_000);
      cpuMicrosPerRecord(records.slice(0, 2_000)); // warm-up: JIT
      const small = cpuMicrosPerRecord(records.slice(0, 2_000));
      const large = cpuMicrosPerRecord(records);
      expect(large / small).toBeLessThan(3);
    });
  });
});
