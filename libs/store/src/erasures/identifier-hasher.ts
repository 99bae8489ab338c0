import { createHmac, randomBytes } from 'node:crypto';

/** Anything that runs SQL: a DataSource, an EntityManager or a pg client adapter. */
export interface SqlRunner {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

const SECRET_NAME = 'identifier-hash';

/**
 * Keyed hashes of identifiers (DESIGN §11): erasure records, erased identifiers and consents of erased
 * people name an identifier only by HMAC-SHA256(secret, tenant, type, normalised value). The secret is
 * created once per database (32 random bytes in `tessera_secrets`) and shared by every process, so
 * ingest, worker and a replay compute the same hash; without the database it cannot be reversed.
 */
export class IdentifierHasher {
  private constructor(private readonly secret: Buffer) {}

  static async load(sql: SqlRunner): Promise<IdentifierHasher> {
    await sql.query(`INSERT INTO tessera_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [SECRET_NAME, randomBytes(32)]);
    const rows = (await sql.query(`SELECT value FROM tessera_secrets WHERE name = $1`, [SECRET_NAME])) as Array<{ value: Buffer }>;
    if (!rows.length) throw new Error('identifier-hash secret missing from tessera_secrets');
    return new IdentifierHasher(rows[0].value);
  }

  /** Hex HMAC of `<tenant>\u0000<type>\u0000<value>` (the separator cannot occur in any of them). */
  hash(tenant: string, type: string, normalisedValue: string): string {
    return createHmac('sha256', this.secret).update(`${tenant}\u0000${type}\u0000${normalisedValue}`).digest('hex');
  }
}
