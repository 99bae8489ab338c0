import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';

export interface IdempotencyRequestsOptions {
  /** How long a key's answer is kept (`TESSERA_IDEMPOTENCY_WINDOW`), from the key's first use. */
  windowMs: number;
  /** An `in-flight` row older than this is taken to be abandoned (its process died) and may be taken over. */
  abandonAfterMs: number;
}

/** What a request carrying an `Idempotency-Key` may do, decided in one statement. */
export type IdempotencyClaim =
  /** First use (or the key's earlier use expired or was abandoned): run the request; `token` completes or releases it. */
  | { outcome: 'claimed'; token: string }
  /** The same request was answered already: answer the same again. */
  | { outcome: 'replay'; status: number; response: unknown }
  /** The key was used with another route or body. */
  | { outcome: 'different-request' }
  /** The same request is still being answered. */
  | { outcome: 'in-flight' };

interface ClaimRow {
  claimed: boolean;
  same_request: boolean;
  state: 'in-flight' | 'done';
  status: number | null;
  response: unknown;
}

/** TypeORM answers UPDATE/DELETE … RETURNING with [rows, affected]; other statements with rows. */
function affected(result: unknown): number {
  return Array.isArray(result) && result.length === 2 && typeof result[1] === 'number' ? result[1] : 0;
}

/**
 * Keys of the `Idempotency-Key` request header (DESIGN §10), per tenant. A key is claimed by its first
 * request (`in-flight`), then either completed with the 2xx answer (`done`) or released (deleted) so the
 * client may retry under the same key. Rows older than the window, and `in-flight` rows older than the
 * abandon bound, count as absent: the next request takes them over.
 */
export class IdempotencyRequestsRepository {
  private readonly claimSql: string;

  constructor(
    private readonly dataSource: DataSource,
    readonly options: IdempotencyRequestsOptions,
  ) {
    // The row as it was is stale: expired, or an in-flight claim nobody finished. $5 window, $6 abandon bound (ms).
    const stale = `(r.created_at <= now() - $5::float8 * interval '1 millisecond'
      OR (r.state = 'in-flight' AND r.created_at <= now() - $6::float8 * interval '1 millisecond'))`;
    const takeOver = (column: string, value: string) => `${column} = CASE WHEN ${stale} THEN ${value} ELSE r.${column} END`;
    // One round trip: insert, or take a stale row over, or leave a live row as it is — and in every case
    // return the row (ON CONFLICT DO UPDATE locks and returns the latest version, so two concurrent first
    // uses see one claim and one in-flight row).
    this.claimSql = `
      INSERT INTO idempotency_requests AS r (tenant, key, fingerprint, state, token, created_at)
      VALUES ($1, $2, $3, 'in-flight', $4, now())
      ON CONFLICT (tenant, key) DO UPDATE SET
        ${takeOver('fingerprint', 'EXCLUDED.fingerprint')},
        ${takeOver('state', `'in-flight'`)},
        ${takeOver('status', 'NULL')},
        ${takeOver('response', 'NULL')},
        ${takeOver('token', 'EXCLUDED.token')},
        ${takeOver('created_at', 'now()')}
      RETURNING r.token = $4 AS claimed, r.fingerprint = $3 AS same_request, r.state, r.status, r.response`;
  }

  /** Claims `key` for a request with `fingerprint`, or says why not (one statement). */
  async claim(tenant: string, key: string, fingerprint: string): Promise<IdempotencyClaim> {
    const token = randomUUID();
    const [row]: ClaimRow[] = await this.dataSource.query(this.claimSql, [tenant, key, fingerprint, token, this.options.windowMs, this.options.abandonAfterMs]);
    if (row.claimed) return { outcome: 'claimed', token };
    if (!row.same_request) return { outcome: 'different-request' };
    if (row.state === 'in-flight') return { outcome: 'in-flight' };
    return { outcome: 'replay', status: row.status!, response: row.response };
  }

  /** Keeps the 2xx answer of a claimed request. False when the claim was lost (taken over as abandoned). */
  async complete(tenant: string, key: string, token: string, status: number, response: unknown): Promise<boolean> {
    const result = await this.dataSource.query(
      `UPDATE idempotency_requests SET state = 'done', status = $4, response = $5::jsonb
       WHERE tenant = $1 AND key = $2 AND token = $3 AND state = 'in-flight'`,
      [tenant, key, token, status, response === undefined ? null : JSON.stringify(response)],
    );
    return affected(result) === 1;
  }

  /** Forgets a claimed request that was not answered 2xx: the client may retry under the same key. */
  async release(tenant: string, key: string, token: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM idempotency_requests WHERE tenant = $1 AND key = $2 AND token = $3`, [tenant, key, token]);
  }

  /** Deletes up to `limit` expired rows (they are ignored anyway); returns how many. */
  async purgeExpired(limit = 10_000): Promise<number> {
    const result = await this.dataSource.query(
      `DELETE FROM idempotency_requests WHERE ctid = ANY (ARRAY(
         SELECT ctid FROM idempotency_requests WHERE created_at <= now() - $1::float8 * interval '1 millisecond' LIMIT $2))`,
      [this.options.windowMs, limit],
    );
    return affected(result);
  }
}
