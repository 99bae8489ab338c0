import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DataSource } from 'typeorm';
import { IdentifierRules } from '@tessera/identity';
import { ApiKeyEntity, ApiKeyKind } from '../entities/api-key.entity';
import { TenantEntity, TenantSettings } from '../entities/tenant.entity';
import { RefreshingCache } from './refreshing-cache';
import {
  changeCustomerSchema,
  CustomerSchemaChange,
  CustomerSchemaState,
  loadFieldTypes,
  readCustomerSchema,
  StoredFieldType,
} from './customer-schema.repository';

export const DEFAULT_TENANT = 'default';
const TENANT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/**
 * Nothing older than this is served from the caches: a revoked key is refused, and a new key or a
 * settings change (rate limit, custom identifier type) applies, within 5 s in every process (README).
 */
export const TENANT_CACHE_MAX_AGE_MS = 5_000;
// Entries used in their last second(s) are reloaded in the background, so steady traffic never waits.
const KEY_REFRESH_AFTER_MS = 4_000;
const TENANT_REFRESH_AFTER_MS = 2_500;
const KNOWN_KEYS = 10_000;
// Unknown keys are remembered apart (bounded), so a flood of random keys never evicts a real one.
const UNKNOWN_KEYS = 10_000;
const TENANTS = 10_000;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The prefix names the kind, so a leaked key is recognised for what it can do (tpk / trk / tsk). */
const KEY_PREFIXES: Record<ApiKeyKind, string> = { public: 'tpk', read: 'trk', private: 'tsk' };

export function generateApiKey(kind: ApiKeyKind): string {
  return `${KEY_PREFIXES[kind]}_${randomBytes(24).toString('base64url')}`;
}

/** TypeORM answers UPDATE … RETURNING on PostgreSQL with `[rows, affectedCount]`. */
function returnedRows<T>(result: unknown): T[] {
  return Array.isArray(result) && Array.isArray(result[0]) ? (result[0] as T[]) : (result as T[]);
}

export interface ApiKeyPrincipal {
  tenant: string;
  kind: ApiKeyKind;
}

export interface TenantRepositoryOptions {
  /** The caches' clock (tests). */
  now?: () => number;
}

/** Tenants, their settings (custom identifier types, rate limits) and their hashed API keys. */
export class TenantRepository {
  // By key hash. A credential is never trusted past the maximum age: no serving stale while refreshing.
  private readonly keyCache: RefreshingCache<string, ApiKeyPrincipal | null>;
  private readonly tenantCache: RefreshingCache<string, { tenant: TenantEntity | null; rules: IdentifierRules; fields: ReadonlyMap<string, StoredFieldType> }>;

  constructor(
    private readonly dataSource: DataSource,
    options: TenantRepositoryOptions = {},
  ) {
    this.keyCache = new RefreshingCache({
      refreshAfterMs: KEY_REFRESH_AFTER_MS,
      maxAgeMs: TENANT_CACHE_MAX_AGE_MS,
      maxEntries: KNOWN_KEYS,
      negative: { is: (principal) => principal === null, maxEntries: UNKNOWN_KEYS },
      now: options.now,
    });
    this.tenantCache = new RefreshingCache({
      refreshAfterMs: TENANT_REFRESH_AFTER_MS,
      maxAgeMs: TENANT_CACHE_MAX_AGE_MS,
      maxEntries: TENANTS,
      now: options.now,
    });
  }

  static isValidTenantId(id: string): boolean {
    return TENANT_ID.test(id);
  }

  async ensureTenant(id: string, name = id, settings?: TenantSettings): Promise<TenantEntity> {
    if (!TenantRepository.isValidTenantId(id)) throw new Error(`tenant id must match ${TENANT_ID}`);
    await this.dataSource.query(
      `INSERT INTO tenants (id, name, settings) VALUES ($1, $2, $3::jsonb)
       ON CONFLICT (id) DO UPDATE SET settings = CASE WHEN $4 THEN EXCLUDED.settings ELSE tenants.settings END`,
      [id, name, JSON.stringify(settings ?? {}), settings !== undefined],
    );
    this.tenantCache.delete(id);
    return (await this.dataSource.getRepository(TenantEntity).findOneByOrFail({ id }));
  }

  /** Merges `patch` into a tenant's settings (e.g. its rate limit or custom identifier types). */
  async updateSettings(id: string, patch: Partial<TenantSettings>): Promise<TenantSettings> {
    const rows = returnedRows<{ settings: TenantSettings }>(
      await this.dataSource.query(`UPDATE tenants SET settings = settings || $2::jsonb WHERE id = $1 RETURNING settings`, [id, JSON.stringify(patch)]),
    );
    if (!rows.length) throw new Error(`no tenant ${id}`);
    this.tenantCache.delete(id);
    return rows[0].settings;
  }

  async listTenants(): Promise<TenantEntity[]> {
    return this.dataSource.getRepository(TenantEntity).find({ order: { id: 'ASC' } });
  }

  /** Stores the hash of a key (the key itself is never stored by the database). */
  async addApiKey(tenant: string, kind: ApiKeyKind, key: string, label?: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO api_keys (hash, tenant_id, kind, prefix, label) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (hash) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, kind = EXCLUDED.kind, revoked_at = NULL`,
      [hashApiKey(key), tenant, kind, key.slice(0, 8), label ?? null],
    );
    this.keyCache.delete(hashApiKey(key));
  }

  async createApiKey(tenant: string, kind: ApiKeyKind, label?: string): Promise<string> {
    const key = generateApiKey(kind);
    await this.addApiKey(tenant, kind, key, label);
    return key;
  }

  async listApiKeys(tenant?: string): Promise<ApiKeyEntity[]> {
    return this.dataSource.getRepository(ApiKeyEntity).find({ where: tenant ? { tenantId: tenant } : {}, order: { createdAt: 'ASC' } });
  }

  async revokeApiKey(prefixOrKey: string): Promise<number> {
    const rows = returnedRows<{ hash: string }>(
      await this.dataSource.query(
        `UPDATE api_keys SET revoked_at = now() WHERE (hash = $1 OR prefix = $2) AND revoked_at IS NULL RETURNING hash`,
        [hashApiKey(prefixOrKey), prefixOrKey.slice(0, 8)],
      ),
    );
    // This process forgets them at once; other processes within the cache's maximum age.
    for (const row of rows) this.keyCache.delete(row.hash);
    return rows.length;
  }

  async countKeys(tenant: string): Promise<number> {
    return this.dataSource.getRepository(ApiKeyEntity).countBy({ tenantId: tenant });
  }

  /** Looks a presented key up by its hash (cached for at most 5 s); compares hashes in constant time. */
  async authenticate(presented: string): Promise<ApiKeyPrincipal | null> {
    return this.keyCache.get(hashApiKey(presented), async (hash) => {
      const rows: Array<{ hash: string; tenant_id: string; kind: ApiKeyKind }> = await this.dataSource.query(
        `SELECT hash, tenant_id, kind FROM api_keys WHERE hash = $1 AND revoked_at IS NULL`,
        [hash],
      );
      const row = rows[0];
      return row && timingSafeEqual(Buffer.from(row.hash, 'hex'), Buffer.from(hash, 'hex')) ? { tenant: row.tenant_id, kind: row.kind } : null;
    });
  }

  /**
   * The identifier rules of a tenant: defaults plus its custom types (cached for at most 5 s).
   * `readSince` (epoch ms): rules read from the database at or after that time — a worker passes the
   * time its records were received, so it knows every type the ingest that accepted them knew.
   */
  async identifierRules(tenant: string, readSince?: number): Promise<IdentifierRules> {
    return (await this.tenantEntry(tenant, readSince)).rules;
  }

  /** The tenant's declared customer fields, name → type (cached for at most 5 s, as the identifier rules): ingest checks values against them. */
  async fieldsOf(tenant: string): Promise<ReadonlyMap<string, StoredFieldType>> {
    return (await this.tenantEntry(tenant)).fields;
  }

  /** The customer schema as stored now (no cache); `null` when there is no such tenant. */
  async customerSchema(tenant: string): Promise<CustomerSchemaState | null> {
    return readCustomerSchema(this.dataSource, tenant);
  }

  /** A change of the customer schema decided under the tenant's lock (libs/schema); this process applies it at once, others within 5 s. */
  async changeCustomerSchema<T>(tenant: string, decide: (state: CustomerSchemaState) => CustomerSchemaChange<T>) {
    try {
      return await changeCustomerSchema(this.dataSource, tenant, decide);
    } finally {
      this.tenantCache.delete(tenant);
    }
  }

  private tenantEntry(tenant: string, readSince?: number) {
    return this.tenantCache.get(
      tenant,
      async (id) => {
        const [entity, fields] = await Promise.all([this.dataSource.getRepository(TenantEntity).findOneBy({ id }), loadFieldTypes(this.dataSource, id)]);
        const custom = entity?.settings?.identifierTypes ?? [];
        const rules = custom.length ? IdentifierRules.defaults().withCustomTypes(custom) : IdentifierRules.defaults();
        const region = entity?.settings?.defaultRegion;
        return { tenant: entity, rules: region ? rules.withDefaultRegion(region) : rules, fields };
      },
      readSince,
    );
  }

  async settings(tenant: string): Promise<TenantSettings> {
    return (await this.tenantEntry(tenant)).tenant?.settings ?? {};
  }
}
