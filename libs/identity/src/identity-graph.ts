import { upsertIdentifiers } from './extract-identifiers';
import { IdentifierRules, ZAIUS_ID } from './identifier-rules';
import { profileIdFor } from './profile-id';
import type {
  ApplyOutcome,
  AttributeValue,
  GraphChangeSet,
  GraphSnapshot,
  IdentifierLink,
  IdentifierRef,
  ProfileState,
  ProfileUpsert,
  Version,
} from './types';

/** What `takeDirtyRows` reports: `dirty()`'s rows, each with its tenant. */
export interface DirtyRows<T extends string = string> {
  profiles: Array<ProfileState & { tenant: T }>;
  identifiers: Array<IdentifierLink & { tenant: T }>;
  removed: Array<IdentifierRef & { tenant: T }>;
}

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

/** Step 1: the record's usable identifiers, by the part they play (DESIGN §5). */
interface RecordIdentifiers {
  /** The live profile a known `zaius_id` names (a merged-away id leads to its survivor). */
  named: string | undefined;
  /** The record carried a `zaius_id` that is not an identifier: not a UUID, or no such profile. */
  zaiusIgnored: boolean;
  /** High-confidence identifiers (custom high types included), priority order. */
  high: IdentifierRef[];
  /** Low-confidence identifiers, priority order. */
  low: IdentifierRef[];
}

/** Step 2: the known profiles the record points at and may merge. */
interface Candidates {
  /** Live profiles found by the named zaius_id and the high identifiers, in priority order, merge protection passed. */
  readonly found: string[];
  readonly rejected: Set<string>;
  /** Values of limited types held by `found` and brought by the record itself (see `conflictWith`). */
  readonly acc: LimitedValues;
}

/** What the record's low identifiers lead to next to a known person (step 3). */
interface LowOwners {
  /** Anonymous profiles that merge into the person, merge protection passed. */
  readonly anonymous: string[];
  /** Low identifiers of other known profiles: they may move to the person, never merge. */
  readonly movable: IdentifierLink[];
}

function checkRecord(upsert: ProfileUpsert): void {
  if (!Number.isFinite(upsert.ts)) throw new TypeError(`record ${upsert.recordId}: ts must be a finite number of epoch milliseconds`);
  if (typeof upsert.recordId !== 'string' || upsert.recordId === '') throw new TypeError('record id must be a non-empty string');
}

function outcomeOf(profileId: string | null, ctx: ApplyContext): ApplyOutcome {
  return {
    profileId,
    created: profileId !== null && ctx.createdId === profileId,
    mergedProfileIds: ctx.merged,
    warnings: ctx.warnings,
  };
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
  /** live profile id → every row it owns: a handful, scanned rather than indexed (two Maps per profile cost more). */
  private readonly rowsOf = new Map<string, IdentifierLink[]>();
  /** profile id → number of high/system rows it owns (0 or absent = anonymous). */
  private readonly knownRows = new Map<string, number>();
  /** profile id → profiles whose `mergedInto` points at it (kept flat on merge). */
  private readonly mergedFrom = new Map<string, Set<string>>();
  private readonly dirtyProfiles = new Set<string>();
  private readonly dirtyLinks = new Set<string>();
  /** Keys of rows unlinked since construction (reported by `dirty()` unless linked again). */
  private readonly removedLinks = new Map<string, IdentifierRef>();
  /** Types with a finite per-profile limit, zaius_id excluded (a profile has exactly one id by construction). */
  private readonly limitedTypes: Array<{ type: string; limit: number }>;

  /**
   * `options.adopt`: the graph takes the snapshot's rows as its own, uncopied, and changes them in place — for a
   * caller that built them for this graph alone and never reads them again (the worker's loaded slice).
   */
  constructor(
    private readonly rules: IdentifierRules,
    snapshot: GraphSnapshot,
    options: { adopt?: boolean } = {},
  ) {
    this.limitedTypes = rules
      .types()
      .filter((t) => t.type !== ZAIUS_ID && t.perProfileLimit !== null)
      .map((t) => ({ type: t.type, limit: t.perProfileLimit as number }));

    const adopt = options.adopt === true;
    for (const p of snapshot.profiles) {
      if (this.profiles.has(p.id)) throw new Error(`snapshot lists profile ${p.id} twice`);
      this.profiles.set(p.id, adopt ? p : cloneProfile(p));
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
      const link = adopt ? l : cloneLink(l);
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
    for (const link of this.rowsOf.get(profileId) ?? []) out.push(cloneLink(link));
    return out.sort((a, b) => this.priorityOf(a.type) - this.priorityOf(b.type) || cmp(a.type, b.type) || cmp(a.value, b.value));
  }

  /**
   * Rows changed since construction, final values; profiles by id, identifiers by (type, value);
   * `removed`: identifier rows that no longer exist (unlinked and not linked again), for the store to delete.
   */
  dirty(): GraphChangeSet {
    const profiles = [...this.dirtyProfiles].sort().map((id) => cloneProfile(this.profiles.get(id) as ProfileState));
    const identifiers = [...this.dirtyLinks].sort().map((key) => cloneLink(this.links.get(key) as IdentifierLink));
    const removed = [...this.removedLinks.keys()]
      .filter((key) => !this.links.has(key))
      .sort()
      .map((key) => ({ ...(this.removedLinks.get(key) as IdentifierRef) }));
    return { profiles, identifiers, removed };
  }

  /**
   * `dirty()`, then forgets it: the next call reports only what changed after this one (a graph kept
   * across batches reports each batch's rows).
   */
  takeDirty(): GraphChangeSet {
    const changes = this.dirty();
    this.dirtyProfiles.clear();
    this.dirtyLinks.clear();
    this.removedLinks.clear();
    return changes;
  }

  /**
   * `takeDirty()` for a writer that serialises the rows before the graph changes again (the worker's write-back):
   * the same rows in the same order, each carrying `tenant`, sharing the graph's attribute and version maps
   * instead of copying them — read-only, and valid only until the next change to the graph. `ordered`
   * false: in the order they changed, for a writer with no lock order to keep (a bulk load into empty
   * tables: sorting a replay's 900,000 keys took ≈ 0.8 s).
   */
  takeDirtyRows<T extends string>(tenant: T, ordered = true): DirtyRows<T> {
    const inOrder = (keys: Iterable<string>) => (ordered ? [...keys].sort() : keys);
    const profiles: DirtyRows<T>['profiles'] = [];
    for (const id of inOrder(this.dirtyProfiles)) {
      const p = this.profiles.get(id) as ProfileState;
      profiles.push({
        tenant,
        id: p.id,
        attributes: p.attributes,
        versions: p.versions,
        createdTs: p.createdTs,
        createdRecordId: p.createdRecordId,
        updatedTs: p.updatedTs,
        mergedInto: p.mergedInto,
      });
    }
    const identifiers: DirtyRows<T>['identifiers'] = [];
    for (const key of inOrder(this.dirtyLinks)) {
      const l = this.links.get(key) as IdentifierLink;
      identifiers.push({ tenant, type: l.type, value: l.value, profileId: l.profileId, confidence: l.confidence, firstSeen: l.firstSeen, lastSeen: l.lastSeen });
    }
    const removed: DirtyRows<T>['removed'] = [];
    if (this.removedLinks.size > 0) {
      for (const key of inOrder(this.removedLinks.keys())) {
        if (this.links.has(key)) continue;
        const r = this.removedLinks.get(key) as IdentifierRef;
        removed.push({ tenant, type: r.type, value: r.value });
      }
    }
    this.dirtyProfiles.clear();
    this.dirtyLinks.clear();
    this.removedLinks.clear();
    return { profiles, identifiers, removed };
  }

  /** Profile rows held (merged-away ones included). */
  get size(): number {
    return this.profiles.size;
  }

  /** The live profile id an identifier leads to (a zaius_id of a merged profile: its survivor), or undefined. */
  ownerIdOf(ref: IdentifierRef): string | undefined {
    return this.ownerOf(ref);
  }

  // ---------------------------------------------------------------------------------------------
  // Native writes (DESIGN §12): unlink and clear, decided by the caller, applied in log order

  /**
   * Unlinks an identifier from a profile (a contact DELETE): the identifier no longer resolves to it, and
   * the profile's attribute of that type is cleared if it held that value. Returns false (nothing changed)
   * when the identifier does not lead to `profileId`'s live profile, or for zaius_id (the id itself).
   * Deterministic like `apply`: a replay unlinks at the same point in the log.
   */
  unlink(ref: IdentifierRef, profileId: string, change: { recordId: string; ts: number }): boolean {
    if (ref.type === ZAIUS_ID || !this.profiles.has(profileId)) return false;
    const key = linkKey(ref.type, ref.value);
    const link = this.links.get(key);
    const target = this.live(profileId);
    if (link === undefined || this.live(link.profileId) !== target) return false;
    this.detachRow(link);
    this.links.delete(key);
    this.dirtyLinks.delete(key);
    this.removedLinks.set(key, { type: ref.type, value: ref.value });
    const profile = this.profiles.get(target) as ProfileState;
    // Cleared whatever its version (the value is no longer this profile's identifier); the version is
    // kept, so a contact linked by this same record (replace-contact) still writes its value.
    if (profile.attributes[ref.type] === ref.value) delete profile.attributes[ref.type];
    profile.updatedTs = Math.max(profile.updatedTs, change.ts);
    this.dirtyProfiles.add(target);
    return true;
  }

  /**
   * Clears attributes of a live profile (a replace: what it left out), last writer wins like a `null`
   * write of an upsert. Identifier rows stay. Returns false when the profile is unknown.
   */
  clearAttributes(profileId: string, names: readonly string[], change: { recordId: string; ts: number }): boolean {
    if (!this.profiles.has(profileId)) return false;
    const profile = this.profiles.get(this.live(profileId)) as ProfileState;
    const version: Version = [change.ts, change.recordId];
    let changed = false;
    for (const name of names) {
      if (NOT_ATTRIBUTES.has(name) || UNSAFE_NAMES.has(name)) continue;
      if (this.write(profile, name, null, version)) changed = true;
    }
    if (change.ts > profile.updatedTs) {
      profile.updatedTs = change.ts;
      changed = true;
    }
    if (changed) this.dirtyProfiles.add(profile.id);
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Apply: one record, in named steps (DESIGN §5)

  /**
   * Applies one record:
   *  1. read identifiers — normalise; a `zaius_id` that is not a UUID or names no profile is dropped
   *     with a warning, and a record left with no other identifier changes nothing;
   *  2. find candidates — the profiles its zaius_id and high identifiers lead to, minus those merge
   *     protection refuses;
   *  3. choose the target — with a known person (candidates or new high identifiers): merge the
   *     candidates and the anonymous owners of its low identifiers (a known profile survives an
   *     anonymous one, else the earliest created), or start a new profile; low identifiers of other
   *     known profiles move to it if the record is newer. With low identifiers only: their
   *     highest-priority owner, nothing merges;
   *  4. link identifiers — the record's unlinked identifiers join the target (within per-profile limits);
   *  5. write attributes — last writer wins per attribute by (ts, record id).
   * Re-applying the same record is a no-op. `profileId` is null only when nothing was applied.
   */
  apply(upsert: ProfileUpsert): ApplyOutcome {
    checkRecord(upsert);
    const ctx: ApplyContext = { upsert, version: [upsert.ts, upsert.recordId], warnings: [], merged: [], createdId: undefined };
    const ids = this.readIdentifiers(upsert, ctx);
    if (ids.zaiusIgnored && ids.high.length === 0 && ids.low.length === 0) {
      ctx.warnings.push('record has no identifier besides an unknown zaius_id: nothing applied');
      return outcomeOf(null, ctx);
    }
    const candidates = this.findCandidates(ids, ctx);
    const target =
      candidates.found.length > 0 || ids.high.length > 0
        ? this.targetOfKnownPerson(ids.low, candidates, ctx)
        : this.targetOfLowOnly(ids.low, ctx);
    const linked = this.linkIdentifiers(ids, target, ctx);
    this.writeAttributes(target, linked, ctx);
    return outcomeOf(target, ctx);
  }

  /** Step 1: normalised identifiers split by part; invalid ones and an unknown zaius_id warned and dropped. */
  private readIdentifiers(upsert: ProfileUpsert, ctx: ApplyContext): RecordIdentifiers {
    const ids: RecordIdentifiers = { named: undefined, zaiusIgnored: false, high: [], low: [] };
    const { identifiers, invalid } = upsertIdentifiers(upsert, this.rules);
    for (const { field, reason } of invalid) {
      ctx.warnings.push(`${field} ignored: ${reason}`);
      if (field === ZAIUS_ID) ids.zaiusIgnored = true; // e.g. "test", accepted by older versions
    }
    for (const ref of identifiers) {
      if (ref.type === ZAIUS_ID) {
        if (this.profiles.has(ref.value)) ids.named = this.live(ref.value);
        else {
          // Not an identifier: it never creates a profile with that id, links or merges anything.
          ctx.warnings.push('zaius_id names no known profile: ignored');
          ids.zaiusIgnored = true;
        }
      } else if (this.rules.get(ref.type)?.confidence === 'low') ids.low.push(ref);
      else ids.high.push(ref);
    }
    return ids;
  }

  /**
   * Step 2: the profiles found through the named zaius_id and the high identifiers, walked in priority
   * order, accumulating the values of limited types (customer_id, …) of every accepted profile and of
   * the record itself: a profile that would bring a second value of such a type is not merged (merge
   * protection). The record's own values join at their priority position, so the profile of its
   * highest-priority identifier is the one it applies to.
   */
  private findCandidates(ids: RecordIdentifiers, ctx: ApplyContext): Candidates {
    const c: Candidates = { found: [], rejected: new Set(), acc: new Map() };
    if (ids.named !== undefined) this.consider(c, ids.named, ZAIUS_ID, ctx);
    for (const ref of ids.high) {
      const owner = this.ownerOf(ref);
      if (owner !== undefined) this.consider(c, owner, ref.type, ctx);
      else this.addOwnValue(c.acc, ref);
    }
    for (const ref of ids.low) if (!this.links.has(linkKey(ref.type, ref.value))) this.addOwnValue(c.acc, ref);
    return c;
  }

  private consider(c: Candidates, profileId: string, via: string, ctx: ApplyContext): void {
    if (c.found.includes(profileId) || c.rejected.has(profileId)) return;
    const conflict = this.conflictWith(c.acc, profileId);
    if (conflict === undefined) {
      this.accumulate(c.acc, profileId);
      c.found.push(profileId);
    } else {
      c.rejected.add(profileId);
      ctx.warnings.push(`profile ${profileId} (found by ${via}) not merged: it holds another ${conflict} (merge protection)`);
    }
  }

  /** The record's own value of a limited type; one beyond the limit is left out (step 4 refuses it with a warning). */
  private addOwnValue(acc: LimitedValues, ref: IdentifierRef): void {
    const limit = this.limitOf(ref.type);
    if (limit === null) return;
    const values = setOf(acc, ref.type);
    if (values.has(ref.value) || values.size < limit) values.add(ref.value);
  }

  /**
   * Step 3, the record names a known person (a found profile or new high identifiers): candidates and
   * anonymous owners of its low identifiers become one profile — "into" the known one — or, when there
   * are none, a new profile starts (even if some low identifier belongs to another known profile: a
   * shared device is not one person). Low identifiers of other known profiles then move if newer.
   */
  private targetOfKnownPerson(low: IdentifierRef[], candidates: Candidates, ctx: ApplyContext): string {
    const owners = this.lowOwners(low, candidates, ctx);
    const merging = owners.anonymous.length === 0 ? candidates.found : [...candidates.found, ...owners.anonymous];
    const target = merging.length > 0 ? this.mergeProfiles(merging, ctx) : this.createProfile(profileIdFor(ctx.upsert.recordId), ctx);
    for (const link of owners.movable) this.moveIfNewer(link, target, ctx);
    return target;
  }

  /** Sorts the owners of the record's known low identifiers: anonymous ones merge in, known ones only lend the identifier. */
  private lowOwners(low: IdentifierRef[], candidates: Candidates, ctx: ApplyContext): LowOwners {
    const owners: LowOwners = { anonymous: [], movable: [] };
    for (const ref of low) {
      const link = this.links.get(linkKey(ref.type, ref.value));
      if (link === undefined) continue;
      const owner = this.live(link.profileId);
      if (candidates.found.includes(owner) || owners.anonymous.includes(owner)) continue;
      if (this.isKnown(owner)) {
        owners.movable.push(link);
        continue;
      }
      const conflict = this.conflictWith(candidates.acc, owner);
      if (conflict !== undefined) {
        ctx.warnings.push(`anonymous profile ${owner} (found by ${ref.type}) not merged: it holds another ${conflict} (merge protection)`);
        continue;
      }
      this.accumulate(candidates.acc, owner);
      owners.anonymous.push(owner);
    }
    return owners;
  }

  /** Step 3, only low identifiers: the owner of the highest-priority known one; nothing merges or moves. */
  private targetOfLowOnly(low: IdentifierRef[], ctx: ApplyContext): string {
    let target: string | undefined;
    for (const ref of low) {
      const owner = this.ownerOf(ref);
      if (owner === undefined) continue;
      if (target === undefined) target = owner;
      else if (owner !== target) ctx.warnings.push(`${ref.type} stays with profile ${owner}: low-confidence identifiers never merge profiles`);
    }
    if (target !== undefined) return target;
    if (low.length === 0) ctx.warnings.push('record has no usable identifier: applied to a profile of its own');
    return this.createProfile(profileIdFor(ctx.upsert.recordId), ctx);
  }

  /**
   * Step 4: links the record's identifiers to the target (new ones within per-profile limits; known
   * ones refresh first/last seen). Returns type → value of the identifiers the target now holds.
   */
  private linkIdentifiers(ids: RecordIdentifiers, target: string, ctx: ApplyContext): Map<string, string> {
    const linked = new Map<string, string>();
    for (const refs of [ids.high, ids.low]) {
      for (const ref of refs) if (this.linkOne(ref, target, ctx)) linked.set(ref.type, ref.value);
    }
    return linked;
  }

  private linkOne(ref: IdentifierRef, target: string, ctx: ApplyContext): boolean {
    const key = linkKey(ref.type, ref.value);
    const ts = ctx.upsert.ts;
    const link = this.links.get(key);
    if (link === undefined) {
      const limit = this.limitOf(ref.type);
      if (limit !== null && this.valuesOf(target, ref.type) >= limit) {
        ctx.warnings.push(`${ref.type} not linked: profile ${target} already holds ${limit} value(s) of it (per-profile limit)`);
        return false;
      }
      const confidence = this.rules.get(ref.type)?.confidence ?? 'low';
      const created: IdentifierLink = { type: ref.type, value: ref.value, profileId: target, confidence, firstSeen: ts, lastSeen: ts };
      this.links.set(key, created);
      this.attachRow(created, target);
      this.dirtyLinks.add(key);
      return true;
    }
    if (this.live(link.profileId) !== target) {
      // Merge protection (high) or an older sighting / no merge via low identifiers (low, warned in step 3).
      if (this.rules.get(ref.type)?.confidence !== 'low') {
        ctx.warnings.push(`${ref.type} not linked: it belongs to profile ${link.profileId} (merge protection)`);
      }
      return false;
    }
    if (ts > link.lastSeen || ts < link.firstSeen) {
      link.lastSeen = Math.max(link.lastSeen, ts);
      link.firstSeen = Math.min(link.firstSeen, ts);
      this.dirtyLinks.add(key);
    }
    return true;
  }

  /**
   * Step 5: attributes, last writer wins per attribute by (ts, recordId). Identifier attributes hold the
   * normalised value, and only when that identifier is linked to the target.
   */
  private writeAttributes(target: string, linked: Map<string, string>, ctx: ApplyContext): void {
    const { attributes, ts } = ctx.upsert;
    const profile = this.profiles.get(target) as ProfileState;
    let changed = false;
    for (const name of Object.keys(attributes)) {
      if (NOT_ATTRIBUTES.has(name)) continue;
      if (UNSAFE_NAMES.has(name)) {
        ctx.warnings.push(`attribute ${name} ignored: reserved name`);
        continue;
      }
      const value = this.rules.isIdentifier(name) ? linked.get(name) : attributes[name];
      if (value !== undefined && this.write(profile, name, value, ctx.version)) changed = true;
    }
    if (ts > profile.updatedTs) {
      profile.updatedTs = ts;
      changed = true;
    }
    if (changed) this.dirtyProfiles.add(target);
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
    // The id is taken only when this very record already created it (re-application): apply to that
    // profile (or its survivor) rather than overwrite it.
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

  /**
   * Merges live profiles into one; returns the survivor. "Into the known one": a known profile survives
   * an anonymous one whatever their ages (clients keep the known zaius_id); among equals the earliest
   * created survives. Known-ness is read before any of them merges.
   */
  private mergeProfiles(ids: string[], ctx: ApplyContext): string {
    if (ids.length === 1) return ids[0];
    let survivor = this.profiles.get(ids[0]) as ProfileState;
    let survivorKnown = this.isKnown(survivor.id);
    for (let i = 1; i < ids.length; i++) {
      const p = this.profiles.get(ids[i]) as ProfileState;
      const known = this.isKnown(p.id);
      if (known !== survivorKnown ? known : createdBefore(p, survivor)) {
        survivor = p;
        survivorKnown = known;
      }
    }
    for (const id of ids) if (id !== survivor.id) this.mergeInto(survivor, this.profiles.get(id) as ProfileState, ctx);
    return survivor.id;
  }

  private mergeInto(survivor: ProfileState, loser: ProfileState, ctx: ApplyContext): void {
    // Identifier rows follow the survivor.
    const rows = this.rowsOf.get(loser.id);
    if (rows !== undefined) {
      for (const link of rows) {
        link.profileId = survivor.id;
        this.attachRow(link, survivor.id);
        this.dirtyLinks.add(linkKey(link.type, link.value));
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
    if (rows === undefined || rows.length === 0) return undefined;
    for (const { type, limit } of this.limitedTypes) {
      const have = acc.get(type);
      let held = false;
      let size = have?.size ?? 0;
      for (const link of rows) {
        if (link.type !== type) continue;
        held = true;
        if (!have?.has(link.value)) size++;
      }
      if (held && size > limit) return type;
    }
    return undefined;
  }

  private accumulate(acc: LimitedValues, profileId: string): void {
    const rows = this.rowsOf.get(profileId);
    if (rows === undefined) return;
    for (const { type } of this.limitedTypes) {
      for (const link of rows) if (link.type === type) setOf(acc, type).add(link.value);
    }
  }

  private isKnown(profileId: string): boolean {
    return (this.knownRows.get(profileId) ?? 0) > 0;
  }

  private valuesOf(profileId: string, type: string): number {
    const rows = this.rowsOf.get(profileId);
    let n = 0;
    if (rows !== undefined) for (const link of rows) if (link.type === type) n++;
    return n;
  }

  private limitOf(type: string): number | null {
    return this.rules.get(type)?.perProfileLimit ?? null;
  }

  private priorityOf(type: string): number {
    return this.rules.get(type)?.priority ?? Number.MAX_SAFE_INTEGER;
  }

  private attachRow(link: IdentifierLink, profileId: string): void {
    // A row is attached to one profile at a time (detached before it moves), so never twice here.
    const rows = this.rowsOf.get(profileId);
    if (rows === undefined) this.rowsOf.set(profileId, [link]);
    else rows.push(link);
    if (link.confidence !== 'low') this.knownRows.set(profileId, (this.knownRows.get(profileId) ?? 0) + 1);
  }

  private detachRow(link: IdentifierLink): void {
    const rows = this.rowsOf.get(link.profileId);
    const at = rows === undefined ? -1 : rows.findIndex((r) => r.type === link.type && r.value === link.value);
    if (at < 0) return;
    (rows as IdentifierLink[]).splice(at, 1);
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
