import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { unpackVersions } from '../repositories/profile-graph.repository';
import { profileByIdSql, searchSql } from './profile-search.sql';
import type { ProfileSearch, ProfileSearchPage, ProfileSearchRow, SearchScope, StoredContact, StoredProfile } from './profile-search.types';
import { declaredSearchAttributes } from './search-attributes';

const UNDEFINED_COLUMN = '42703';

interface Row {
  total?: number;
  primaries: Array<[string, string, Record<string, unknown>]> | null;
  id: string | null;
  attributes: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  sort_key?: string[];
  contacts: Array<[string, string, string, string]> | null;
}

/** The version of a profile's `$is_primary` mark: [ts ms, record id]; older than any real one when missing. */
function markVersion(packed: Record<string, unknown>): [number, string] {
  return unpackVersions(packed)['$is_primary'] ?? [-1, ''];
}

/** Customer → the id of its primary: the latest `$is_primary` mark wins (no cross-profile write needed). */
export function primariesOf(candidates: Array<[string, string, Record<string, unknown>]>): Map<string, string> {
  const best = new Map<string, { id: string; version: [number, string] }>();
  for (const [customer, id, packed] of candidates) {
    const version = markVersion(packed);
    const current = best.get(customer);
    const later = !current || version[0] > current.version[0] || (version[0] === current.version[0] && (version[1] > current.version[1] || (version[1] === current.version[1] && id > current.id)));
    if (later) best.set(customer, { id, version });
  }
  return new Map([...best].map(([customer, b]) => [customer, b.id]));
}

function toStored(row: Row, primaries: Map<string, string>): StoredProfile {
  const customer = row.attributes['$customer'];
  return {
    id: row.id!,
    attributes: row.attributes,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    contacts: (row.contacts ?? []).map(([type, value, firstSeen, lastSeen]): StoredContact => ({ type, value, firstSeen, lastSeen })),
    primary: typeof customer === 'string' && primaries.get(customer) === row.id,
  };
}

/**
 * Reads of the native API over the profile projection (DESIGN §12): one round trip per page (total,
 * rows, their contacts and their customers' primaries) and per profile. Indexes: migration 1100.
 */
export class ProfileSearchRepository {
  private readonly pool: Pool;
  /** The declared search attributes, read from the catalog once (and again when a column is gone). */
  private declared?: Promise<ReadonlySet<string>>;

  constructor(private readonly dataSource: DataSource) {
    this.pool = (dataSource.driver as unknown as { master: Pool }).master;
  }

  private declaredAttributes(): Promise<ReadonlySet<string>> {
    this.declared ??= declaredSearchAttributes(this.dataSource).then(
      (names) => new Set(names),
      (error: unknown) => {
        this.declared = undefined;
        throw error;
      },
    );
    return this.declared;
  }

  async search(search: ProfileSearch): Promise<ProfileSearchPage> {
    const rows = await this.searchRows(search);
    const primaries = primariesOf(rows[0]?.primaries ?? []);
    const page: ProfileSearchRow[] = rows.filter((r) => r.id !== null).map((r) => ({ ...toStored(r, primaries), sortKey: r.sort_key! }));
    return { total: rows[0]?.total ?? 0, rows: page };
  }

  /** Another process may have dropped a declared attribute since it was read: read them again, once. */
  private async searchRows(search: ProfileSearch): Promise<Row[]> {
    try {
      return (await this.pool.query<Row>(searchSql(search, await this.declaredAttributes()))).rows;
    } catch (error) {
      if ((error as { code?: string }).code !== UNDEFINED_COLUMN) throw error;
      this.declared = undefined;
      return (await this.pool.query<Row>(searchSql(search, await this.declaredAttributes()))).rows;
    }
  }

  /** The live profile `id` leads to (itself or its survivor) within the scope; undefined otherwise. */
  async findById(scope: SearchScope, id: string): Promise<StoredProfile | undefined> {
    const { rows } = await this.pool.query<Row>(profileByIdSql(scope, id));
    if (!rows.length) return undefined;
    return toStored(rows[0], primariesOf(rows[0].primaries ?? []));
  }
}
