import type { SqlRunner } from './identifier-hasher';

export type ErasureStatus = 'IN_PROGRESS' | 'COMPLETED';

export interface NewErasureRequest {
  id: string;
  tenant: string;
  regulation: string;
  requester: string;
  identifierType: string;
  identifierHash: string;
  recordId: string;
  requestedAt: Date;
}

/**
 * The request side of erasures (DESIGN §11), used by the compliance routes: the status row of each
 * request (keyed hash only, never the value) and the profile hint the erasure record carries.
 * The projector completes the row (erasures.repository applyErasure); erasure-log sets completed_at.
 */
export class ErasureRequestsRepository {
  constructor(private readonly sql: SqlRunner) {}

  /**
   * The surviving profile each identifier resolves to now, or null, in input order (one round trip).
   * zaius_id is the profile id itself; a merged-away id resolves to its survivor.
   */
  async resolveProfiles(tenant: string, refs: Array<{ type: string; value: string }>): Promise<Array<string | null>> {
    if (refs.length === 0) return [];
    const rows = (await this.sql.query(
      `WITH RECURSIVE req AS (
         SELECT ord, type, value FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS r(type, value, ord)
       ), start AS (
         SELECT req.ord, CASE WHEN req.type = 'zaius_id' THEN req.value ELSE i.profile_id END AS id
           FROM req LEFT JOIN identifiers i ON i.tenant = $1 AND i.type = req.type AND i.value = req.value
       ), up AS (
         SELECT s.ord, p.id, p.merged_into, 0 AS depth FROM start s JOIN profiles p ON p.tenant = $1 AND p.id = s.id
         UNION ALL
         SELECT up.ord, p.id, p.merged_into, up.depth + 1 FROM up JOIN profiles p ON p.tenant = $1 AND p.id = up.merged_into WHERE up.depth < 64
       )
       SELECT ord, id FROM up WHERE merged_into IS NULL`,
      [tenant, refs.map((r) => r.type), refs.map((r) => r.value)],
    )) as Array<{ ord: string; id: string }>;
    const found: Array<string | null> = refs.map(() => null);
    for (const r of rows) found[Number(r.ord) - 1] = r.id;
    return found;
  }

  /** Inserted before the records are produced, so the status answers IN_PROGRESS at once. */
  async insert(requests: NewErasureRequest[]): Promise<void> {
    if (requests.length === 0) return;
    await this.sql.query(
      `INSERT INTO erasure_requests (id, tenant, regulation, requester, identifier_type, identifier_hash, record_id, requested_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])`,
      [
        requests.map((r) => r.id),
        requests.map((r) => r.tenant),
        requests.map((r) => r.regulation),
        requests.map((r) => r.requester),
        requests.map((r) => r.identifierType),
        requests.map((r) => r.identifierHash),
        requests.map((r) => r.recordId),
        requests.map((r) => r.requestedAt.toISOString()),
      ],
    );
  }

  /**
   * The log did not acknowledge the records (the client got 503 and retries with new requests): the
   * rows go, unless the projector has applied a record meanwhile (it was stored after all) — then the
   * row stays and completes like any other.
   */
  async forgetUnapplied(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    // A CTE: the answer is rows whatever the driver does with a bare DELETE's result.
    const rows = (await this.sql.query(
      `WITH d AS (DELETE FROM erasure_requests WHERE id = ANY ($1::text[]) AND applied_at IS NULL RETURNING 1) SELECT count(*)::int AS n FROM d`,
      [ids],
    )) as Array<{ n: number }>;
    return rows[0].n;
  }

  /** The status of one request of the tenant, or undefined (unknown, or another tenant's). */
  async status(tenant: string, id: string): Promise<ErasureStatus | undefined> {
    const rows = (await this.sql.query(`SELECT completed_at IS NOT NULL AS completed FROM erasure_requests WHERE id = $1 AND tenant = $2`, [id, tenant])) as Array<{
      completed: boolean;
    }>;
    if (!rows.length) return undefined;
    return rows[0].completed ? 'COMPLETED' : 'IN_PROGRESS';
  }
}
