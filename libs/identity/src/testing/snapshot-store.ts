/**
 * Test support: an in-memory stand-in for the worker's PostgreSQL tables, loading exactly the slice of
 * the graph the worker loads per batch (see `preloadKeys`) and persisting `dirty()` rows.
 */
import { preloadKeys } from '../extract-identifiers';
import { IdentifierRules } from '../identifier-rules';
import { IdentityGraph } from '../identity-graph';
import type { ApplyOutcome, GraphSnapshot, IdentifierLink, IdentifierRef, ProfileState, ProfileUpsert } from '../types';

/** A record of a mixed log: an upsert, or an unlink of an identifier from a profile (a contact DELETE). */
export type GraphOp = { upsert: ProfileUpsert } | { unlink: { recordId: string; ts: number; profileId: string; ref: IdentifierRef } };

const key = (type: string, value: string) => `${type}\u0000${value}`;

export class SnapshotStore {
  readonly profiles = new Map<string, ProfileState>();
  readonly identifiers = new Map<string, IdentifierLink>();

  /** The worker's pre-load query for one batch. */
  load(batch: ProfileUpsert[], rules: IdentifierRules): GraphSnapshot {
    const keys = preloadKeys(batch, rules);
    const profiles = new Map<string, ProfileState>();
    const addChain = (id: string) => {
      let current: string | null = id;
      while (current !== null && !profiles.has(current)) {
        const p = this.profiles.get(current);
        if (!p) return;
        profiles.set(current, structuredClone(p));
        current = p.mergedInto;
      }
    };
    const identifiers = new Map<string, IdentifierLink>();
    for (const ref of keys.identifiers) {
      const link = this.identifiers.get(key(ref.type, ref.value));
      if (link) {
        identifiers.set(key(link.type, link.value), structuredClone(link));
        addChain(link.profileId);
      }
    }
    for (const id of keys.profileIds) addChain(id);
    const live = new Set([...profiles.values()].filter((p) => p.mergedInto === null).map((p) => p.id));
    for (const link of this.identifiers.values()) {
      if (live.has(link.profileId)) identifiers.set(key(link.type, link.value), structuredClone(link));
    }
    return { profiles: [...profiles.values()], identifiers: [...identifiers.values()] };
  }

  save(rows: GraphSnapshot & { removed?: IdentifierRef[] }): void {
    for (const p of rows.profiles) this.profiles.set(p.id, structuredClone(p));
    for (const l of rows.identifiers) this.identifiers.set(key(l.type, l.value), structuredClone(l));
    for (const r of rows.removed ?? []) this.identifiers.delete(key(r.type, r.value));
  }

  /** Like applyInBatches, for a log that also holds unlinks; an unlink pre-loads its profile and identifier. */
  applyOpsInBatches(batches: GraphOp[][], rules: IdentifierRules): Array<ApplyOutcome | boolean> {
    const outcomes: Array<ApplyOutcome | boolean> = [];
    const asUpsert = (op: GraphOp): ProfileUpsert =>
      'upsert' in op
        ? op.upsert
        : { recordId: op.unlink.recordId, ts: op.unlink.ts, attributes: { zaius_id: op.unlink.profileId, [op.unlink.ref.type]: op.unlink.ref.value } };
    for (const batch of batches) {
      const graph = new IdentityGraph(rules, this.load(batch.map(asUpsert), rules));
      for (const op of batch) outcomes.push('upsert' in op ? graph.apply(op.upsert) : graph.unlink(op.unlink.ref, op.unlink.profileId, op.unlink));
      this.save(graph.dirty());
    }
    return outcomes;
  }

  /** Applies records batch by batch, as the worker does: load slice, apply in order, save dirty rows. */
  applyInBatches(batches: ProfileUpsert[][], rules: IdentifierRules): ApplyOutcome[] {
    const outcomes: ApplyOutcome[] = [];
    for (const batch of batches) {
      const graph = new IdentityGraph(rules, this.load(batch, rules));
      for (const upsert of batch) outcomes.push(graph.apply(upsert));
      this.save(graph.dirty());
    }
    return outcomes;
  }

  /** Surviving profile id of any profile id. */
  root(id: string): string {
    let p = this.profiles.get(id);
    while (p && p.mergedInto !== null) p = this.profiles.get(p.mergedInto);
    if (!p) throw new Error(`broken merged_into chain from ${id}`);
    return p.id;
  }

  /** Full state with `mergedInto` resolved to the survivor (chains outside a batch may be longer). */
  canonical(): { profiles: Array<ProfileState & { root: string }>; identifiers: IdentifierLink[] } {
    const profiles = [...this.profiles.values()]
      .map((p) => ({ ...structuredClone(p), mergedInto: p.mergedInto === null ? null : this.root(p.id), root: this.root(p.id) }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const identifiers = [...this.identifiers.values()]
      .map((l) => structuredClone(l))
      .sort((a, b) => (key(a.type, a.value) < key(b.type, b.value) ? -1 : 1));
    return { profiles, identifiers };
  }

  /**
   * Order-independent view: per live profile, its identifier set, attributes and versions, without ids.
   * (What DESIGN §5 convergence promises: same identifier sets, same attribute values.)
   */
  partition(): string[] {
    const byProfile = new Map<string, string[]>();
    for (const l of this.identifiers.values()) {
      const list = byProfile.get(l.profileId) ?? [];
      list.push(`${l.type}:${l.value}@${l.firstSeen}-${l.lastSeen}`);
      byProfile.set(l.profileId, list);
    }
    const out: string[] = [];
    for (const p of this.profiles.values()) {
      if (p.mergedInto !== null) continue;
      const ids = (byProfile.get(p.id) ?? []).sort();
      const attributes = Object.keys(p.attributes).sort().map((n) => [n, p.attributes[n], p.versions[n]]);
      const cleared = Object.keys(p.versions).filter((n) => !Object.hasOwn(p.attributes, n)).sort().map((n) => [n, p.versions[n]]);
      out.push(JSON.stringify({ ids, attributes, cleared, updatedTs: p.updatedTs }));
    }
    return out.sort();
  }
}
