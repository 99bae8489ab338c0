/**
 * What a native-API listing asks of the profile projection (DESIGN §12): parsed and validated by the
 * caller (libs/profile-api), turned into one parameterised statement by ProfileSearchRepository.
 */

/** A field a listing filters on. Identifier values arrive normalised (like a look-up). */
export type SearchField =
  | { kind: 'status' }
  | { kind: 'tag' }
  | { kind: 'identifier'; type: string }
  | { kind: 'attribute'; name: string }
  | { kind: 'timestamp'; column: 'created_at' | 'updated_at' };

export type SearchOperator = 'eq' | 'prefix' | 'gt' | 'gte' | 'lt' | 'lte';

/**
 * One AND-ed condition. `eq`/`prefix` take text; comparisons take a number (`number`) or an ISO time
 * (`time`, as given: PostgreSQL reads it).
 */
export interface SearchCondition {
  field: SearchField;
  op: SearchOperator;
  value: string;
  /** For comparisons: what `value` is. */
  compare?: 'number' | 'time';
}

export type SortField = { kind: 'created_at' } | { kind: 'updated_at' } | { kind: 'id' } | { kind: 'status' } | { kind: 'attribute'; name: string };

export interface SortKey {
  field: SortField;
  desc: boolean;
}

/** Who reads and within what: the tenant, a restricted key's restrictions, a customer's profiles only. */
export interface SearchScope {
  tenant: string;
  /** null: unrestricted; otherwise only profiles whose `restriction` attribute is one of these. */
  restrictions: readonly string[] | null;
  /** Only the profiles of this customer (seed 000). */
  customer?: string;
}

export interface ProfileSearch {
  scope: SearchScope;
  conditions: readonly SearchCondition[];
  /** Without a trailing `id`: the repository adds it as the tiebreak. */
  sort: readonly SortKey[];
  limit: number;
  offset: number;
  /** Keyset: the sort-key texts (see ProfileSearchRow.sortKey) of the row the previous page ended on. */
  after: readonly string[] | null;
}

export interface StoredContact {
  type: string;
  value: string;
  firstSeen: string;
  lastSeen: string;
}

/** A live profile as stored, with what the profile object needs besides its attributes. */
export interface StoredProfile {
  id: string;
  /** As stored: `$`-names included (the caller splits them off). */
  attributes: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  /** Identifier rows (zaius_id excluded), first seen first. */
  contacts: StoredContact[];
  /** Whether it is *the* primary of its customer (latest `$is_primary` version wins; false without a customer). */
  primary: boolean;
}

export interface ProfileSearchRow extends StoredProfile {
  /** The row's sort-key values as text, tiebreak id last: the next page's keyset. */
  sortKey: string[];
}

export interface ProfileSearchPage {
  /** Every profile the conditions match (keyset and paging aside). */
  total: number;
  /** Up to `limit` + 1 rows: one more than asked says there is a next page. */
  rows: ProfileSearchRow[];
}
