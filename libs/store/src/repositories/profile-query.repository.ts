import type { Pool } from 'pg';
import { DataSource } from 'typeorm';

export interface ProfileView {
  id: string;
  attributes: Record<string, unknown>;
  /** Every value per type, first seen first. */
  identifiers: Record<string, string[]>;
  /** Up to RECENT_IDENTIFIERS values per type, most recently seen first (then by value): the look-up's plural attributes (DESIGN §10). */
  recentIdentifiers: Record<string, string[]>;
  createdAt: string;
  updatedAt: string;
}

/** Values per identifier type in a look-up's plural attribute (`emails`, …; DESIGN §10). */
export const RECENT_IDENTIFIERS = 25;

/** Read side: one round trip per look-up, merged-away profiles redirected to their survivor. */
export class ProfileQueryRepository {
  private readonly pool: Pool;

  constructor(private readonly dataSource: DataSource) {
    this.pool = (dataSource.driver as unknown as { master: Pool }).master;
  }

  async findByIdentifier(tenant: string, type: string, value: string): Promise<ProfileView | null> {
    // A named (prepared) statement: planning costs more than executing this look-up.
    const { rows } = await this.pool.query<{
      id: string;
      attributes: Record<string, unknown>;
      identifiers: Record<string, string[]> | null;
      recent: Record<string, string[]> | null;
      created_at: Date;
      updated_at: Date;
    }>({
      // Named (prepared) once per connection; the name changes with the text (a new text under an old name fails).
      name: 'tessera.profile-by-identifier.v2',
      text: `WITH target AS (
           SELECT coalesce(p.merged_into, p.id) AS id
             FROM identifiers i JOIN profiles p ON p.tenant = i.tenant AND p.id = i.profile_id
            WHERE $2 <> 'zaius_id' AND i.tenant = $1 AND i.type = $2 AND i.value = $3
           UNION ALL
           SELECT coalesce(p.merged_into, p.id) FROM profiles p WHERE $2 = 'zaius_id' AND p.tenant = $1 AND p.id = $3
           LIMIT 1
         )
         SELECT p.id, p.attributes, p.created_at, p.updated_at, g.identifiers, g.recent
           FROM target t JOIN profiles p ON p.tenant = $1 AND p.id = t.id
           -- One pass over the profile's identifier rows gives both lists of each type.
           CROSS JOIN LATERAL (
             SELECT jsonb_object_agg(type, vals) AS identifiers, jsonb_object_agg(type, recent) AS recent
               FROM (SELECT type, jsonb_agg(value ORDER BY first_seen, value) AS vals,
                            to_jsonb((array_agg(value ORDER BY last_seen DESC, value))[1:$4::int]) AS recent
                       FROM identifiers WHERE tenant = $1 AND profile_id = p.id GROUP BY type) i
           ) g`,
      values: [tenant, type, value, RECENT_IDENTIFIERS],
    });
    const row = rows[0];
    if (!row) return null;
    return {
      id: row.id,
      attributes: row.attributes,
      identifiers: row.identifiers ?? {},
      recentIdentifiers: row.recent ?? {},
      createdAt: new Date(row.created_at).toISOString(),
      updatedAt: new Date(row.updated_at).toISOString(),
    };
  }

  async counts(): Promise<{ profiles: number; identifiers: number }> {
    const [row] = await this.dataSource.query(
      `SELECT (SELECT count(*) FROM profiles WHERE merged_into IS NULL)::int AS profiles, (SELECT count(*) FROM identifiers)::int AS identifiers`,
    );
    return row;
  }
}
