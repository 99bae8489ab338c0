/**
 * Shared value types of the identity lib (DESIGN §3, §5). Pure data: the worker maps them to and from
 * the `profiles` / `identifiers` rows of DESIGN §7.
 */

export type AttributeValue = string | number | boolean | null | Array<string | number>;
export type Attributes = Record<string, AttributeValue>;

/** `system` is reserved for `zaius_id` (the profile id itself). */
export type Confidence = 'system' | 'high' | 'low';

/** An identifier after normalisation (see `IdentifierRules.normalise`). */
export interface IdentifierRef {
  type: string;
  value: string;
}

/** One record of `tessera.profile-upserts.v1`, as the resolver needs it. */
export interface ProfileUpsert {
  recordId: string;
  /** Event time, epoch milliseconds. */
  ts: number;
  /** As accepted by ingest: raw (not normalised), `ts` removed. */
  attributes: Attributes;
}

/** [ts, recordId] of the last write of one attribute (a `null` write included). */
export type Version = [number, string];

export interface ProfileState {
  id: string;
  /** Current values; attributes cleared by `null` are absent. Never contains `zaius_id` or `ts`. */
  attributes: Attributes;
  /** attribute → [ts, recordId] of its last write (null writes too). */
  versions: Record<string, Version>;
  createdTs: number;
  createdRecordId: string;
  updatedTs: number;
  /** Set when this profile lost a merge: the surviving profile's id. */
  mergedInto: string | null;
}

/** One row of `identifiers`: (type, value) is the key, `profileId` its single owner. */
export interface IdentifierLink {
  type: string;
  value: string;
  profileId: string;
  confidence: Confidence;
  /** Event time (epoch ms) of the earliest / latest record that carried it to its profile. */
  firstSeen: number;
  lastSeen: number;
}

export interface ApplyOutcome {
  /**
   * The live profile the record was applied to; null when it changed nothing (its only identifier was a
   * `zaius_id` that names no profile).
   */
  profileId: string | null;
  /** True when the record created that profile. */
  created: boolean;
  /** Profiles that lost a merge while applying this record (now `mergedInto` → `profileId`). */
  mergedProfileIds: string[];
  /** Human-readable notes (merge protection, identifiers not linked or not moved, …). No identifier values (PII). */
  warnings: string[];
}

export interface GraphSnapshot {
  profiles: ProfileState[];
  identifiers: IdentifierLink[];
}

/** What `IdentityGraph.dirty()` reports: changed rows, and identifier rows that no longer exist. */
export interface GraphChangeSet extends GraphSnapshot {
  /** Unlinked identifiers (DESIGN §12 contacts): the store deletes their rows. */
  removed: IdentifierRef[];
}
