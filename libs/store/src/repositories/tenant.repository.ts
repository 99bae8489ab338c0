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

/**
 * A key's prefix as listed and revoked by: the kind's tag and 8 random characters (48 bits), checked
 * unique at creation (`createApiKey`), so it names one key. Keys made before issue 11 have 8.
 */
export const API_KEY_PREFIX_LENGTH = 12;
/** The shortest string `keys revoke` takes as a prefix (the old listing's 8 characters). */
const MIN_REVOKE_PREFIX = 8;

export function apiKeyPrefix(key: string): string {
  return key.slice(0, API_KEY_PREFIX_LENGTH);
}

function likePrefix(text: string): string {
  return `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** `null` when unrestricted; otherwise the distinct restrictions (an empty list restricts nothing). */
function storedRestrictions(restrictions: readonly string[] | null | undefined): string[] | null {
  return restrictions && restrictions.length > 0 ? [...new Set(restrictions)] : null;
}

export interface CreateApiKeyOptions {
  label?: string;
  /** Seed 004: the key reads only profiles whose `restriction` attribute is one of these (null/empty: all). */
  restrictions?: readonly string[] | null;
}

/** TypeORM answers UPDATE … RETURNING on PostgreSQL with `[rows, affectedCount]`. */
function returnedRows<T>(result: unknown): T[] {
  return Array.isArray(result) && Array.isArray(result[0]) ? (result[0] as T[]) : (result as T[]);
}

export interface ApiKeyPrincipal {
  tenant: string;
  kind: ApiKeyKind;
  /** Seed 004: reads see only profiles whose `restriction` attribute is one of these; `null` = unrestricted. */
  restrictions: string[] | null;
}

export interface TenantRepositoryOptions {
  /** The caches' clock (tests). */
  now?: () => number;
}

/** Tenants, their settings (custom identifier types, rate limits) and their hashed API keys. */
export class TenantRepository {
  // By key hash. A credential is never trusted past the maximum age: no serving stale while refreshing.
  private readonly keyCache: RefreshingCache<string, ApiKeyPrincipal | null>;
  private readonly rulesReadAt = new WeakMap<IdentifierRules, number>();
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

  /** The tenant as stored now (no cache), or null. */
  async findTenant(id: string): Promise<TenantEntity | null> {
    return this.dataSource.getRepository(TenantEntity).findOneBy({ id });
  }

  /** Creates a tenant; `null` when the id is taken (nothing changed). */
  async createTenant(id: string, name = id, settings: TenantSettings = {}): Promise<TenantEntity | null> {
    if (!TenantRepository.isValidTenantId(id)) throw new Error(`tenant id must match ${TENANT_ID}`);
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `INSERT INTO tenants (id, name, settings) VALUES ($1, $2, $3::jsonb) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [id, name, JSON.stringify(settings)],
    );
    if (!rows.length) return null;
    this.tenantCache.delete(id);
    return this.findTenant(id);
  }

  async listTenants(): Promise<TenantEntity[]> {
    return this.dataSource.getRepository(TenantEntity).find({ order: { id: 'ASC' } });
  }

  /** Stores the hash of a key (the key itself is never stored by the database). */
  async addApiKey(tenant: string, kind: ApiKeyKind, key: string, label?: string, restrictions?: readonly string[] | null): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO api_keys (hash, tenant_id, kind, prefix, label, restrictions) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (hash) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, kind = EXCLUDED.kind, restrictions = EXCLUDED.restrictions, revoked_at = NULL`,
      [hashApiKey(key), tenant, kind, apiKeyPrefix(key), label ?? null, storedRestrictions(restrictions)],
    );
    this.keyCache.delete(hashApiKey(key));
  }

  /** A new key (returned once, stored hashed) whose prefix no other key has. */
  async createApiKey(tenant: string, kind: ApiKeyKind, options: string | CreateApiKeyOptions = {}): Promise<string> {
    const { label, restrictions } = typeof options === 'string' ? { label: options, restrictions: null } : options;
    // 48 random bits in the prefix: a clash is all but impossible, and is retried rather than stored.
    for (let attempt = 0; attempt < 5; attempt++) {
      const key = generateApiKey(kind);
      const rows: unknown[] = await this.dataSource.query(
        `INSERT INTO api_keys (hash, tenant_id, kind, prefix, label, restrictions)
         SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM api_keys WHERE prefix = $4)
         RETURNING hash`,
        [hashApiKey(key), tenant, kind, apiKeyPrefix(key), label ?? null, storedRestrictions(restrictions)],
      );
      if (rows.length) return key;
    }
    throw new Error('could not draw an API key with an unused prefix');
  }

  /**
   * The active keys a key or prefix names: the key itself (by hash), or the keys whose prefix starts with
   * the given text (at least 8 characters, as listed), optionally within one tenant.
   */
  async findActiveApiKeys(keyOrPrefix: string, tenant?: string): Promise<ApiKeyEntity[]> {
    const prefix = keyOrPrefix.replace(/…$/, '');
    return this.dataSource
      .getRepository(ApiKeyEntity)
      .createQueryBuilder('k')
      .where('k.revokedAt IS NULL')
      .andWhere(tenant === undefined ? '1 = 1' : 'k.tenantId = :tenant', { tenant })
      .andWhere(
        prefix.length >= MIN_REVOKE_PREFIX && prefix.length <= API_KEY_PREFIX_LENGTH ? `(k.hash = :hash OR k.prefix LIKE :like)` : 'k.hash = :hash',
        { hash: hashApiKey(keyOrPrefix), like: likePrefix(prefix) },
      )
      .orderBy('k.createdAt', 'ASC')
      .getMany();
  }

  /** Revokes keys by hash; this process refuses them at once, other processes within 5 s. */
  async revokeApiKeysByHash(hashes: readonly string[]): Promise<number> {
    if (!hashes.length) return 0;
    const rows = returnedRows<{ hash: string }>(
      await this.dataSource.query(`UPDATE api_keys SET revoked_at = now() WHERE hash = ANY($1::text[]) AND revoked_at IS NULL RETURNING hash`, [hashes]),
    );
    for (const row of rows) this.keyCache.delete(row.hash);
    return rows.length;
  }

  async listApiKeys(tenant?: string): Promise<ApiKeyEntity[]> {
    return this.dataSource.getRepository(ApiKeyEntity).find({ where: tenant ? { tenantId: tenant } : {}, order: { createdAt: 'ASC' } });
  }

  /** Revokes every active key the key or prefix names (`findActiveApiKeys`). */
  async revokeApiKey(prefixOrKey: string, tenant?: string): Promise<number> {
    return this.revokeApiKeysByHash((await this.findActiveApiKeys(prefixOrKey, tenant)).map((k) => k.hash));
  }

  async countKeys(tenant: string): Promise<number> {
    return this.dataSource.getRepository(ApiKeyEntity).countBy({ tenantId: tenant });
  }

  /** Looks a presented key up by its hash (cached for at most 5 s); compares hashes in constant time. */
  async authenticate(presented: string): Promise<ApiKeyPrincipal | null> {
    return this.keyCache.get(hashApiKey(presented), async (hash) => {
      const rows: Array<{ hash: string; tenant_id: string; kind: ApiKeyKind; restrictions: string[] | null }> = await this.dataSource.query(
        `SELECT hash, tenant_id, kind, restrictions FROM api_keys WHERE hash = $1 AND revoked_at IS NULL`,
        [hash],
      );
      const row = rows[0];
      return row && timingSafeEqual(Buffer.from(row.hash, 'hex'), Buffer.from(hash, 'hex'))
        ? { tenant: row.tenant_id, kind: row.kind, restrictions: storedRestrictions(row.restrictions) }
        : null;
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

  /**
   * When rules identifierRules returned were read (epoch ms, taken as the read began): identifierRules
   * serves the same object for records received up to then, as long as it is cached.
   */
  identifierRulesReadAt(rules: IdentifierRules): number | undefined {
    return this.rulesReadAt.get(rules);
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
        const readAt = Date.now();
        const [entity, fields] = await Promise.all([this.dataSource.getRepository(TenantEntity).findOneBy({ id }), loadFieldTypes(this.dataSource, id)]);
        const rules = IdentifierRules.forTenant(entity?.settings?.identifierTypes ?? [], entity?.settings?.defaultRegion);
        this.rulesReadAt.set(rules, readAt);
        return { tenant: entity, rules, fields };
      },
      readSince,
    );
  }

  async settings(tenant: string): Promise<TenantSettings> {
    return (await this.tenantEntry(tenant)).tenant?.settings ?? {};
  }
}
