import { getHeapStatistics } from 'node:v8';
import { IdentifierRules, IdentityGraph } from '@tessera/identity';
import { KnownRows } from '@tessera/store';

/**
 * JavaScript heap a replay may fill before it goes back to per-batch loads: 2.5 GiB, or 60 % of the
 * process's heap limit when that is smaller (Node sets the limit by the machine's memory: 4 GiB with 16 GiB
 * or more). A profile with its identifiers and the drained log take about 5.5 KiB of heap per profile
 * (measured: the bench's 200,000 people, 314,000 profiles and 777,000 records, peaked at 1.75 GiB of heap,
 * 2.7 GiB RSS), so that population fits; a larger one, or a smaller machine, goes on with per-batch loads.
 */
export function defaultResidentHeapBudget(): number {
  return Math.min(2.5 * 1024 * 1024 * 1024, Math.floor(getHeapStatistics().heap_size_limit * 0.6));
}

/**
 * The identity graph of every tenant, kept in memory across batches while a replay rebuilds the
 * projection from empty with nothing else writing it: whatever is not in memory does not exist, so a
 * batch needs no identifier locks and no graph loads. Built under one set of identifier rules per tenant.
 */
export class ResidentGraphs {
  private readonly graphs = new Map<string, { graph: IdentityGraph; rules: string }>();
  /**
   * Keys of the rows the replay has saved: everything stored was written by this graph, so save can
   * UPDATE these and plain-INSERT the rest (no speculative insertion: ≈ 30 µs PostgreSQL CPU a record).
   */
  readonly stored = new KnownRows();
  /**
   * Write-behind: the graphs hold changed rows that no statement has saved yet. Set by the projector when
   * it applies records without saving their graph rows, cleared when a flush takes them.
   */
  unsaved = false;

  constructor(
    private readonly heapBudgetBytes: number = defaultResidentHeapBudget(),
    /** Graph rows are saved by flushes (ProfileProjector.finishReplay, before an erasure or a drop), not per batch. */
    readonly writeBehind = false,
  ) {}

  /** Every tenant's graph, for a flush. */
  all(): Map<string, IdentityGraph> {
    return new Map([...this.graphs].map(([tenant, { graph }]) => [tenant, graph]));
  }

  /**
   * The tenants' graphs (new tenants start empty), or why they cannot serve this batch: a tenant's
   * rules changed since its graph was built, or the heap grew past its budget.
   */
  graphsFor(rulesByTenant: Map<string, IdentifierRules>): { graphs: Map<string, IdentityGraph> } | { reason: string } {
    const heapUsed = getHeapStatistics().used_heap_size;
    if (heapUsed > this.heapBudgetBytes) {
      return { reason: `heap ${Math.round(heapUsed / 2 ** 20)} MiB above the budget of ${Math.round(this.heapBudgetBytes / 2 ** 20)} MiB (${this.profiles()} profiles in memory)` };
    }
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
