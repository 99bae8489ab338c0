import { IdentifierRules, IdentityGraph } from '@tessera/identity';

/** Profiles a replay keeps in memory before it goes back to per-batch loads (about 1–2 KiB each). */
export const DEFAULT_RESIDENT_PROFILE_LIMIT = 500_000;

/**
 * The identity graph of every tenant, kept in memory across batches while a replay rebuilds the
 * projection from empty with nothing else writing it: whatever is not in memory does not exist, so a
 * batch needs no identifier locks and no graph loads. Built under one set of identifier rules per tenant.
 */
export class ResidentGraphs {
  private readonly graphs = new Map<string, { graph: IdentityGraph; rules: string }>();

  constructor(private readonly profileLimit: number = DEFAULT_RESIDENT_PROFILE_LIMIT) {}

  /**
   * The tenants' graphs (new tenants start empty), or why they cannot serve this batch: a tenant's
   * rules changed since its graph was built, or memory holds more profiles than allowed.
   */
  graphsFor(rulesByTenant: Map<string, IdentifierRules>): { graphs: Map<string, IdentityGraph> } | { reason: string } {
    if (this.profiles() > this.profileLimit) return { reason: `more than ${this.profileLimit} profiles in memory` };
    const graphs = new Map<string, IdentityGraph>();
    for (const [tenant, rules] of rulesByTenant) {
      const fingerprint = rulesFingerprint(rules);
      let entry = this.graphs.get(tenant);
      if (!entry) {
        entry = { graph: new IdentityGraph(rules, { profiles: [], identifiers: [] }), rules: fingerprint };
        this.graphs.set(tenant, entry);
      } else if (entry.rules !== fingerprint) {
        return { reason: `identifier rules of a tenant changed during the replay` };
      }
      graphs.set(tenant, entry.graph);
    }
    return { graphs };
  }

  private profiles(): number {
    let n = 0;
    for (const { graph } of this.graphs.values()) n += graph.size;
    return n;
  }
}

const fingerprints = new WeakMap<IdentifierRules, string>();

/** What the graph's decisions depend on: the types (confidence, limits, order) and the phone region. */
function rulesFingerprint(rules: IdentifierRules): string {
  let fingerprint = fingerprints.get(rules);
  if (fingerprint === undefined) {
    fingerprint = JSON.stringify([rules.types(), rules.defaultRegion]);
    fingerprints.set(rules, fingerprint);
  }
  return fingerprint;
}
