import { extractIdentifiers } from './extract-identifiers';
import { IdentifierRules, ZAIUS_ID } from './identifier-rules';
import { profileIdFor } from './profile-id';
import type {
  ApplyOutcome,
  AttributeValue,
  GraphSnapshot,
  IdentifierLink,
  IdentifierRef,
  ProfileState,
  ProfileUpsert,
  Version,
} from './types';

/**
 * The snapshot handed to `IdentityGraph` lacks rows the rules need (see `preloadKeys`): a link to a
 * profile that is not loaded, or a `mergedInto` chain that leaves the loaded set. A caller bug, not data.
 */
export class IncompleteSnapshotError extends Error {
  override readonly name = 'IncompleteSnapshotError';
}

/** Never written as profile attributes: `ts` orders writes, `zaius_id` is the profile id (added on read). */
const NOT_ATTRIBUTES: ReadonlySet<string> = new Set(['ts', ZAIUS_ID]);
/** Refused by ingest (DESIGN §3); skipped here too so a replayed record can never touch an object prototype. */
const UNSAFE_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const linkKey = (type: string, value: string): string => `${type}\u0000${value}`;

/** True when version `a` is later than `b`: (ts, recordId) compared as a tuple. */
export function isNewerVersion(a: Version, b: Version | undefined): boolean {
  if (b === undefined) return true;
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
}

function cloneValue(value: AttributeValue): AttributeValue {
  return Array.isArray(value) ? value.slice() : value;
}

/**
 * Copies a profile row. Attribute values and version tuples are never mutated in place (a write replaces
 * them; arrays are copied on the way in), so copying the two maps is enough to isolate the row.
 */
function cloneProfile(p: ProfileState): ProfileState {
  return {
    id: p.id,
    attributes: { ...p.attributes },
    versions: { ...p.versions },
    createdTs: p.createdTs,
    createdRecordId: p.createdRecordId,
    updatedTs: p.updatedTs,
    mergedInto: p.mergedInto,
  };
}

const cloneLink = (l: IdentifierLink): IdentifierLink => ({ ...l });

/** Earliest created first: (createdTs, createdRecordId), then id so the order is total. */
function createdBefore(a: ProfileState, b: ProfileState): boolean {
  if (a.createdTs !== b.createdTs) return a.createdTs < b.createdTs;
  if (a.createdRecordId !== b.createdRecordId) return a.createdRecordId < b.createdRecordId;
  return a.id < b.id;
}

/** Values of limited identifier types accumulated while deciding which profiles may merge. */
type LimitedValues = Map<string, Set<string>>;

interface ApplyContext {
  readonly upsert: ProfileUpsert;
  readonly version: Version;
  readonly warnings: string[];
  readonly merged: string[];
  createdId: string | undefined;
}

/**
 * In-memory working set of one tenant's identity graph for one batch (DESIGN §5, §6).
 *
 * Built from the rows the worker pre-loaded (see `preloadKeys`), it applies upserts one by one, in log
 * order, and reports the rows it changed (`dirty()`) so the worker writes them in one statement.
 * Deterministic: the same snapshot and the same records in the same order give the same rows.
 *
 * Cost per record is O(identifiers + attributes of the record), plus O(rows + attributes) of each
 * profile merged away.
 */
export class IdentityGraph {
  private readonly profiles = new Map<string, ProfileState>();
  private readonly links = new Map<string, IdentifierLink>();
  /** live profile id → type → value → link (every row a profile owns). */
  private readonly rowsOf = new Map<string, Map<string, Map<string, IdentifierLink>>>();
  /** profile id → number of high/system rows it owns (0 or absent = anonymous). */
  private readonly knownRows = new Map<string, number>();
  /** profile id → profiles whose `mergedInto` points at it (kept flat on merge). */
  private readonly mergedFrom = new Map<string, Set<string>>();
  private readonly dirtyProfiles = new Set<string>();
  private readonly dirtyLinks = new Set<string>();
  /** Types with a finite per-profile limit, zaius_id excluded (a profile has exactly one id by construction). */
  private readonly limitedTypes: Array<{ type: string; limit: number }>;

  constructor(
    private readonly rules: IdentifierRules,
    snapshot: GraphSnapshot,
  ) {
    this.limitedTypes = rules
      .types()
      .filter((t) => t.type !== ZAIUS_ID && t.perProfileLimit !== null)
      .map((t) => ({ type: t.type, limit: t.perProfileLimit as number }));

    for (const p of snapshot.profiles) {
      if (this.profiles.has(p.id)) throw new Error(`snapshot lists profile ${p.id} twice`);
      this.profiles.set(p.id, cloneProfile(p));
    }
    for (const p of this.profiles.values()) {
      if (p.mergedInto !== null) this.childrenOf(p.mergedInto).add(p.id);
    }
    for (const l of snapshot.identifiers) {
      const key = linkKey(l.type, l.value);
      if (this.links.has(key)) throw new Error(`snapshot lists identifier ${l.type} twice for one value`);
      if (!this.profiles.has(l.profileId)) {
        throw new IncompleteSnapshotError(`identifier row of type ${l.type} points at profile ${l.profileId}, which is not in the snapshot`);
      }
      const link = cloneLink(l);
      this.links.set(key, link);
      this.attachRow(link, link.profileId);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Reads

  /** The live profile an identifier leads to; a `zaius_id` of a merged profile leads to its survivor. */
  resolveProfile(ref: IdentifierRef): ProfileState | undefined {
    const id = this.ownerOf(ref);
    return id === undefined ? undefined : cloneProfile(this.profiles.get(id) as ProfileState);
  }

  /** The profile row with exactly this id (merged ones included, `mergedInto` set). */
  profile(id: string): ProfileState | undefined {
    const p = this.profiles.get(id);
    return p && cloneProfile(p);
  }

  /** Identifier rows owned by this profile id (none for a merged profile), by type priority then value. */
  identifiersOf(profileId: string): IdentifierLink[] {
    const out: IdentifierLink[] = [];
    for (const byValue of this.rowsOf.get(profileId)?.values() ?? []) {
      for (const link of byValue.values()) out.push(cloneLink(link));
    }
    return out.sort((a, b) => this.priorityOf(a.type) - this.priorityOf(b.type) || cmp(a.type, b.type) || cmp(a.value, b.value));
  }

  /** Rows changed since construction, final values; profiles by id, identifiers by (type, value). */
  dirty(): GraphSnapshot {
    const profiles = [...this.dirtyProfiles].sort().map((id) => cloneProfile(this.profiles.get(id) as ProfileState));
    const identifiers = [...this.dirtyLinks].sort().map((key) => cloneLink(this.links.get(key) as IdentifierLink));
    return { profiles, identifiers };
  }

  // ---------------------------------------------------------------------------------------------
  // Apply

  /**
   * Applies one record (DESIGN §5). Steps, with H = the record's high/system identifiers (zaius_id
   * counts as system) and L = its low ones:
   *  1. Profiles found through H merge (earliest created survives), except those refused by merge
   *     protection — walked in the priority order of the identifier that found them.
   *  2. With a target: L owned by an anonymous profile → that profile merges in; L owned by another
   *     known profile → moves to the target only if this record is newer than the link's last sighting.
   *  3. H present but all new: an anonymous owner of some L gains H; otherwise a new profile.
   *  4. H empty: the owner of the highest-priority known L; low identifiers never merge anything.
   *  5. Unlinked identifiers are linked to the target (within per-profile limits); attributes apply LWW.
   * Re-applying the same record is a no-op.
   */
  apply(upsert: ProfileUpsert): ApplyOutcome {
    if (!Number.isFinite(upsert.ts)) throw new TypeError(`record ${upsert.recordId}: ts must be a finite number of epoch milliseconds`);
    if (typeof upsert.recordId !== 'string' || upsert.recordId === '') throw new TypeError('record id must be a non-empty string');

    const ctx: ApplyContext = {
      upsert,
      version: [upsert.ts, upsert.recordId],
      warnings: [],
      merged: [],
      createdId: undefined,
    };
    const { identifiers, invalid } = extractIdentifiers(upsert.attributes, this.rules);
    for (const { field, reason } of invalid) ctx.warnings.push(`${field} ignored: ${reason}`);

    let zaius: IdentifierRef | undefined;
    const high: IdentifierRef[] = [];
    const low: IdentifierRef[] = [];
    for (const ref of identifiers) {
      if (ref.type === ZAIUS_ID) zaius = ref;
      else if (this.rules.get(ref.type)?.confidence === 'low') low.push(ref);
      else high.push(ref);
    }
    const own = [...high, ...low];

    // 1. Profiles found through H, walked in identifier priority order (zaius_id first), accumulating the
    // values of limited types (customer_id, …) of every accepted profile and of the record itself: a
    // profile that would bring a second value of such a type is not merged (merge protection). The
    // record's own values join at their priority position, so the profile of the record's
    // highest-priority identifier is the one the record applies to (DESIGN §5).
    const acc: LimitedValues = new Map();
    const group: string[] = [];
    const rejected = new Set<string>();
    const consider = (profileId: string, via: string): void => {
      if (group.includes(profileId) || rejected.has(profileId)) return;
      const conflict = this.conflictWith(acc, profileId);
      if (conflict === undefined) {
        this.accumulate(acc, profileId);
        group.push(profileId);
      } else {
        rejected.add(profileId);
        ctx.warnings.push(`profile ${profileId} (found by ${via}) not merged: it holds another ${conflict} (merge protection)`);
      }
    };
    const addOwnValue = (ref: IdentifierRef): void => {
      const limit = this.limitOf(ref.type);
      if (limit === null || ref.type === ZAIUS_ID) return;
      const values = setOf(acc, ref.type);
      // A value beyond the limit is not added: the link step refuses it with a warning.
      if (values.has(ref.value) || values.size < limit) values.add(ref.value);
    };
    let zaiusOwner: string | undefined;
    for (const ref of zaius === undefined ? high : [zaius, ...high]) {
      const owner = this.ownerOf(ref);
      if (ref === zaius) zaiusOwner = owner;
      if (owner !== undefined) consider(owner, ref.type);
      else addOwnValue(ref);
    }
    for (const ref of low) if (!this.links.has(linkKey(ref.type, ref.value))) addOwnValue(ref);
    let target = group.length > 0 ? this.mergeGroup(group, ctx) : undefined;

    // An unknown zaius_id: when no other high identifier found a profile, the record creates the profile
    // with exactly that id (a client that mints its own ids gets them honoured, and a replay reproduces
    // them). When another identifier found a profile, that profile wins and the zaius_id is ignored: one
    // profile has one id.
    if (zaius !== undefined && zaiusOwner === undefined) {
      if (target !== undefined) ctx.warnings.push(`zaius_id names no known profile: ignored, the record applies to ${target}`);
      else target = this.createProfile(zaius.value, ctx);
    }

    if (target !== undefined || high.length > 0) {
      // 2./3. Low identifiers next to high ones.
      const movable: IdentifierLink[] = [];
      for (const ref of low) {
        const link = this.links.get(linkKey(ref.type, ref.value));
        if (link === undefined) continue;
        const owner = this.live(link.profileId);
        if (owner === target) continue;
        if (this.isKnown(owner)) {
          movable.push(link);
          continue;
        }
        // An anonymous profile that meets a high identifier joins it (or, when all H are new, gains them).
        const conflict = this.conflictWith(acc, owner);
        if (conflict !== undefined) {
          ctx.warnings.push(`anonymous profile ${owner} (found by ${ref.type}) not merged: it holds another ${conflict} (merge protection)`);
          continue;
        }
        this.accumulate(acc, owner);
        target = target === undefined ? owner : this.mergeGroup([target, owner], ctx);
      }
      // All H new and no anonymous owner: a new profile, even when some L belongs to a known profile
      // (a shared device is not one person).
      if (target === undefined) target = this.createProfile(profileIdFor(upsert.recordId), ctx);
      for (const link of movable) this.moveIfNewer(link, target, ctx);
    } else {
      // 4. Only low identifiers: the owner of the highest-priority known one; nothing merges or moves.
      for (const ref of low) {
        const owner = this.ownerOf(ref);
        if (owner === undefined) continue;
        if (target === undefined) target = owner;
        else if (owner !== target) {
          ctx.warnings.push(`${ref.type} stays with profile ${owner}: low-confidence identifiers never merge profiles`);
        }
      }
      if (target === undefined) {
        if (low.length === 0) ctx.warnings.push('record has no usable identifier: applied to a profile of its own');
        target = this.createProfile(profileIdFor(upsert.recordId), ctx);
      }
    }

    // 5./6. Link the record's identifiers to the target; remember which values the target now holds.
    const linkedValues = new Map<string, string>();
    for (const ref of own) {
      const key = linkKey(ref.type, ref.value);
      let link = this.links.get(key);
      if (link === undefined) {
        const limit = this.limitOf(ref.type);
        if (limit !== null && this.valuesOf(target, ref.type) >= limit) {
          ctx.warnings.push(`${ref.type} not linked: profile ${target} already holds ${limit} value(s) of it (per-profile limit)`);
          continue;
        }
        link = {
          type: ref.type,
          value: ref.value,
          profileId: target,
          confidence: this.rules.get(ref.type)?.confidence ?? 'low',
          firstSeen: upsert.ts,
          lastSeen: upsert.ts,
        };
        this.links.set(key, link);
        this.attachRow(link, target);
        this.dirtyLinks.add(key);
      } else if (this.live(link.profileId) !== target) {
        // Merge protection (H) or an older sighting / no merge via low identifiers (L, warned above).
        if (this.rules.get(ref.type)?.confidence !== 'low') {
          ctx.warnings.push(`${ref.type} not linked: it belongs to profile ${link.profileId} (merge protection)`);
        }
        continue;
      } else if (upsert.ts > link.lastSeen || upsert.ts < link.firstSeen) {
        link.lastSeen = Math.max(link.lastSeen, upsert.ts);
        link.firstSeen = Math.min(link.firstSeen, upsert.ts);
        this.dirtyLinks.add(key);
      }
      linkedValues.set(ref.type, ref.value);
    }

    // 7. Attributes, last writer wins per attribute by (ts, recordId). Identifier attributes hold the
    // normalised value, and only when that identifier is linked to the target.
    const profile = this.profiles.get(target) as ProfileState;
    let changed = false;
    for (const name of Object.keys(upsert.attributes)) {
      if (NOT_ATTRIBUTES.has(name)) continue;
      if (UNSAFE_NAMES.has(name)) {
        ctx.warnings.push(`attribute ${name} ignored: reserved name`);
        continue;
      }
      let value: AttributeValue | undefined = upsert.attributes[name];
      if (this.rules.isIdentifier(name)) value = linkedValues.get(name);
      if (value === undefined) continue;
      if (this.write(profile, name, value, ctx.version)) changed = true;
    }
    if (upsert.ts > profile.updatedTs) {
      profile.updatedTs = upsert.ts;
      changed = true;
    }
    if (changed) this.dirtyProfiles.add(target);

    return {
      profileId: target,
      created: ctx.createdId === target,
      mergedProfileIds: ctx.merged,
      warnings: ctx.warnings,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  /** Live profile id an identifier leads to, or undefined. */
  private ownerOf(ref: IdentifierRef): string | undefined {
    if (ref.type === ZAIUS_ID) return this.profiles.has(ref.value) ? this.live(ref.value) : undefined;
    const link = this.links.get(linkKey(ref.type, ref.value));
    return link && this.live(link.profileId);
  }

  /** Follows `mergedInto` to the surviving profile. */
  private live(id: string): string {
    let current = id;
    for (let steps = 0; steps <= this.profiles.size; steps++) {
      const p = this.profiles.get(current);
      if (p === undefined) {
        throw new IncompleteSnapshotError(`profile ${id} leads to profile ${current}, which is not in the snapshot`);
      }
      if (p.mergedInto === null) return current;
      current = p.mergedInto;
    }
    throw new Error(`mergedInto cycle through profile ${id}`);
  }

  private createProfile(id: string, ctx: ApplyContext): string {
    // The id is taken only when this very record already created it (re-application) or a zaius_id
    // minted it: apply to that profile rather than overwrite it.
    if (this.profiles.has(id)) return this.live(id);
    this.profiles.set(id, {
      id,
      attributes: {},
      versions: {},
      createdTs: ctx.upsert.ts,
      createdRecordId: ctx.upsert.recordId,
      updatedTs: ctx.upsert.ts,
      mergedInto: null,
    });
    this.dirtyProfiles.add(id);
    ctx.createdId = id;
    return id;
  }

  /** Merges the profiles into the earliest created one; returns the survivor. */
  private mergeGroup(ids: string[], ctx: ApplyContext): string {
    let survivor = this.profiles.get(ids[0]) as ProfileState;
    for (const id of ids) {
      const p = this.profiles.get(id) as ProfileState;
      if (createdBefore(p, survivor)) survivor = p;
    }
    for (const id of ids) if (id !== survivor.id) this.mergeInto(survivor, this.profiles.get(id) as ProfileState, ctx);
    return survivor.id;
  }

  private mergeInto(survivor: ProfileState, loser: ProfileState, ctx: ApplyContext): void {
    // Identifier rows follow the survivor.
    const rows = this.rowsOf.get(loser.id);
    if (rows !== undefined) {
      for (const byValue of rows.values()) {
        for (const link of byValue.values()) {
          link.profileId = survivor.id;
          this.attachRow(link, survivor.id);
          this.dirtyLinks.add(linkKey(link.type, link.value));
        }
      }
      this.rowsOf.delete(loser.id);
      this.knownRows.delete(loser.id);
    }
    // Attributes: per attribute, the later write of either side (a later null clears).
    for (const name of Object.keys(loser.versions)) {
      const version = loser.versions[name];
      if (!isNewerVersion(version, survivor.versions[name])) continue;
      survivor.versions[name] = version;
      if (Object.hasOwn(loser.attributes, name)) survivor.attributes[name] = cloneValue(loser.attributes[name]);
      else delete survivor.attributes[name];
    }
    survivor.updatedTs = Math.max(survivor.updatedTs, loser.updatedTs);
    loser.mergedInto = survivor.id;
    // Keep chains flat among the profiles in memory: whatever pointed at the loser now points at the survivor.
    const survivorChildren = this.childrenOf(survivor.id);
    const loserChildren = this.mergedFrom.get(loser.id);
    if (loserChildren !== undefined) {
      for (const childId of loserChildren) {
        (this.profiles.get(childId) as ProfileState).mergedInto = survivor.id;
        survivorChildren.add(childId);
        this.dirtyProfiles.add(childId);
      }
      this.mergedFrom.delete(loser.id);
    }
    survivorChildren.add(loser.id);
    this.dirtyProfiles.add(survivor.id);
    this.dirtyProfiles.add(loser.id);
    ctx.merged.push(loser.id);
  }

  /** A low identifier owned by another known profile moves to the target only if this record is newer. */
  private moveIfNewer(link: IdentifierLink, target: string, ctx: ApplyContext): void {
    const owner = this.live(link.profileId);
    if (owner === target) return;
    if (!(ctx.upsert.ts > link.lastSeen)) {
      ctx.warnings.push(`${link.type} stays with profile ${owner}: the record is not newer than its last sighting`);
      return;
    }
    const limit = this.limitOf(link.type);
    if (limit !== null && this.valuesOf(target, link.type) >= limit) {
      ctx.warnings.push(`${link.type} stays with profile ${owner}: profile ${target} already holds ${limit} value(s) of it (per-profile limit)`);
      return;
    }
    this.detachRow(link);
    link.profileId = target;
    this.attachRow(link, target);
    this.dirtyLinks.add(linkKey(link.type, link.value));
  }

  /** Writes one attribute if (ts, recordId) is later than its stored version; `null` clears. */
  private write(profile: ProfileState, name: string, value: AttributeValue, version: Version): boolean {
    if (!isNewerVersion(version, profile.versions[name])) return false;
    profile.versions[name] = version; // one shared, never-mutated tuple per record
    if (value === null) delete profile.attributes[name];
    else profile.attributes[name] = cloneValue(value);
    return true;
  }

  /** The first limited type whose values would exceed its limit if `profileId` joined `acc`. */
  private conflictWith(acc: LimitedValues, profileId: string): string | undefined {
    const rows = this.rowsOf.get(profileId);
    if (rows === undefined) return undefined;
    for (const { type, limit } of this.limitedTypes) {
      const values = rows.get(type);
      if (values === undefined || values.size === 0) continue;
      const have = acc.get(type);
      let size = have?.size ?? 0;
      for (const value of values.keys()) if (!have?.has(value)) size++;
      if (size > limit) return type;
    }
    return undefined;
  }

  private accumulate(acc: LimitedValues, profileId: string): void {
    const rows = this.rowsOf.get(profileId);
    if (rows === undefined) return;
    for (const { type } of this.limitedTypes) {
      const values = rows.get(type);
      if (values !== undefined) for (const value of values.keys()) setOf(acc, type).add(value);
    }
  }

  private isKnown(profileId: string): boolean {
    return (this.knownRows.get(profileId) ?? 0) > 0;
  }

  private valuesOf(profileId: string, type: string): number {
    return this.rowsOf.get(profileId)?.get(type)?.size ?? 0;
  }

  private limitOf(type: string): number | null {
    return this.rules.get(type)?.perProfileLimit ?? null;
  }

  private priorityOf(type: string): number {
    return this.rules.get(type)?.priority ?? Number.MAX_SAFE_INTEGER;
  }

  private attachRow(link: IdentifierLink, profileId: string): void {
    let byType = this.rowsOf.get(profileId);
    if (byType === undefined) this.rowsOf.set(profileId, (byType = new Map()));
    let byValue = byType.get(link.type);
    if (byValue === undefined) byType.set(link.type, (byValue = new Map()));
    byValue.set(link.value, link);
    if (link.confidence !== 'low') this.knownRows.set(profileId, (this.knownRows.get(profileId) ?? 0) + 1);
  }

  private detachRow(link: IdentifierLink): void {
    const byValue = this.rowsOf.get(link.profileId)?.get(link.type);
    if (byValue === undefined || !byValue.delete(link.value)) return;
    if (link.confidence !== 'low') this.knownRows.set(link.profileId, (this.knownRows.get(link.profileId) ?? 1) - 1);
  }

  private childrenOf(profileId: string): Set<string> {
    let children = this.mergedFrom.get(profileId);
    if (children === undefined) this.mergedFrom.set(profileId, (children = new Set()));
    return children;
  }
}

function setOf(map: LimitedValues, type: string): Set<string> {
  let set = map.get(type);
  if (set === undefined) map.set(type, (set = new Set()));
  return set;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
