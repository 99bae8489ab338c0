import { createHash, createHmac, randomBytes } from 'node:crypto';

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

  /**
   * The same HMAC computed inside PostgreSQL (RFC 2104 with its built-in sha256()), for finding which
   * stored value of a tenant's type has a given hash without moving the values out of the database:
   * `sha256(outer || sha256(inner || convert_to(value, 'UTF8')))` equals decode(hash(tenant, type, value), 'hex').
   * `inner` is the key's inner pad followed by `<tenant>\u0000<type>\u0000`; `outer` the key's outer pad.
   */
  sqlHmacParts(tenant: string, type: string): { inner: Buffer; outer: Buffer } {
    const key = Buffer.alloc(64); // SHA-256 block size; the 32-byte secret is zero-padded
    (this.secret.length > 64 ? createHash('sha256').update(this.secret).digest() : this.secret).copy(key);
    const inner = Buffer.from(key.map((b) => b ^ 0x36));
    const outer = Buffer.from(key.map((b) => b ^ 0x5c));
    return { inner: Buffer.concat([inner, Buffer.from(`${tenant}\u0000${type}\u0000`, 'utf8')]), outer };
  }
}
