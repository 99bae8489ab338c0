import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { EventsCursor } from './events-cursor';

export interface StoredProfileEvent {
  id: string;
  type: string;
  action: string | null;
  ts: Date;
  /** `ts` at full precision (UTC, microseconds): the cursor's key, so paging never skips an event. */
  tsKey: string;
  identifiers: Record<string, unknown>;
  data: Record<string, unknown>;
}

/** Reads events kept per profile (table profile_events, written by the projector). */
@Injectable()
export class ProfileEventsReader {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * The profile that answers for `id`: itself, or the survivor it was merged into; null when the tenant
   * has no such profile, or the survivor is outside a restricted key's restrictions (as the reads do).
   */
  async survivorOf(tenant: string, id: string, restrictions: readonly string[] | null = null): Promise<string | null> {
    const rows: Array<{ survivor: string }> = await this.dataSource.query(
      `SELECT s.id AS survivor FROM profiles p JOIN profiles s ON s.tenant = p.tenant AND s.id = COALESCE(p.merged_into, p.id)
        WHERE p.tenant = $1 AND p.id = $2 AND ($3::text[] IS NULL OR s.attributes->>'restriction' = ANY ($3::text[]))`,
      [tenant, id, restrictions],
    );
    return rows[0]?.survivor ?? null;
  }

  /**
   * Events of the survivor and of every profile merged into it (merges keep `merged_into` flat: losers
   * point straight at the survivor), newest first, after `cursor`, at most `limit`.
   */
  async page(tenant: string, survivor: string, limit: number, cursor: EventsCursor | null): Promise<StoredProfileEvent[]> {
    const rows: Array<{ id: string; type: string; action: string | null; ts: Date; ts_key: string; identifiers: Record<string, unknown>; data: Record<string, unknown> }> =
      await this.dataSource.query(
        `SELECT e.id, e.type, e.action, e.ts, to_char(e.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts_key, e.identifiers, e.data
           FROM profile_events e
          WHERE e.tenant = $1
            AND e.profile_id IN (SELECT $2::text UNION ALL SELECT p.id FROM profiles p WHERE p.tenant = $1 AND p.merged_into = $2)
            AND ($3::timestamptz IS NULL OR (e.ts, e.id) < ($3::timestamptz, $4::text))
          ORDER BY e.ts DESC, e.id DESC
          LIMIT $5`,
        [tenant, survivor, cursor?.ts ?? null, cursor?.id ?? null, limit],
      );
    return rows.map((r) => ({ id: r.id, type: r.type, action: r.action, ts: r.ts, tsKey: r.ts_key, identifiers: r.identifiers, data: r.data }));
  }
}
