import { Injectable } from '@nestjs/common';
import { TenantEntity, TenantRepository, TenantSettings } from '@tessera/store';
import {
  ApiKeyView,
  apiKeyView,
  CreatedApiKeyView,
  parseKeyCreation,
  parseTenantCreation,
  parseTenantPatch,
  TenantAdminError,
  TenantView,
  tenantView,
} from './tenant-admin.rules';

/**
 * Tenants and their keys (DESIGN §12, seed 004): the one implementation behind `/api/v1/tenants`
 * (admin key) and the CLI's `tenants …` / `keys …` commands. Changes apply in this process at once
 * and in other processes within the tenant cache's 5 s (a revoked key included).
 */
@Injectable()
export class TenantAdminService {
  constructor(private readonly tenants: TenantRepository) {}

  async listTenants(): Promise<TenantView[]> {
    return (await this.tenants.listTenants()).map(tenantView);
  }

  async getTenant(name: string): Promise<TenantView> {
    return tenantView(await this.requireTenant(name));
  }

  /** 409 when the name is taken (`TenantTakenError` carries the tenant as it is). */
  async createTenant(body: unknown, options: { legacyNames?: boolean } = {}): Promise<TenantView> {
    const { name, displayName } = parseTenantCreation(body, options);
    const created = await this.tenants.createTenant(name, displayName);
    if (created) return tenantView(created);
    const existing = await this.tenants.findTenant(name);
    throw new TenantTakenError(existing ? tenantView(existing) : null, name);
  }

  /** Merges the settings sent (`null` clears one); the rest stay. */
  async updateTenant(name: string, body: unknown): Promise<TenantView> {
    const patch = parseTenantPatch(body);
    await this.requireTenant(name);
    if (Object.keys(patch).length) await this.tenants.updateSettings(name, patch as Partial<TenantSettings>);
    return tenantView(await this.requireTenant(name));
  }

  /** A new key, shown in this answer only (the database keeps its hash). */
  async createKey(tenant: string, body: unknown): Promise<CreatedApiKeyView> {
    const { kind, restrictions, label } = parseKeyCreation(body);
    await this.requireTenant(tenant);
    const key = await this.tenants.createApiKey(tenant, kind, { label: label ?? undefined, restrictions });
    const [stored] = await this.tenants.findActiveApiKeys(key, tenant);
    return { key, ...apiKeyView(stored) };
  }

  /** Every key of the tenant (or of all tenants), oldest first, revoked ones marked; prefixes only. */
  async listKeys(tenant?: string): Promise<ApiKeyView[]> {
    if (tenant !== undefined) await this.requireTenant(tenant);
    return (await this.tenants.listApiKeys(tenant)).map(apiKeyView);
  }

  /**
   * Revokes the one active key a prefix (as listed) or the key itself names, within `tenant` when
   * given. 404 when none; 409 when the prefix names several (possible only for keys chosen through
   * TESSERA_PUBLIC_KEY/TESSERA_PRIVATE_KEY or listed before issue 11 with 8 characters).
   */
  async revokeKey(tenant: string | undefined, keyOrPrefix: string): Promise<ApiKeyView> {
    if (tenant !== undefined) await this.requireTenant(tenant);
    const matches = await this.tenants.findActiveApiKeys(keyOrPrefix, tenant);
    const shown = keyOrPrefix.slice(0, 16);
    if (matches.length === 0) throw new TenantAdminError(404, `no active key matches '${shown}'${tenant !== undefined ? ` in tenant ${tenant}` : ''}`);
    if (matches.length > 1) {
      throw new TenantAdminError(409, `'${shown}' matches ${matches.length} active keys (${matches.map((k) => k.prefix).join(', ')}); give a longer prefix or the key itself`);
    }
    await this.tenants.revokeApiKeysByHash([matches[0].hash]);
    return { ...apiKeyView(matches[0]), revoked_at: new Date().toISOString() };
  }

  private async requireTenant(name: string): Promise<TenantEntity> {
    const tenant = await this.tenants.findTenant(name);
    if (!tenant) throw new TenantAdminError(404, `no tenant '${name.slice(0, 80)}'`);
    return tenant;
  }
}

/** A create of a name already taken (409); `existing` is what the tenant is now. */
export class TenantTakenError extends TenantAdminError {
  constructor(
    readonly existing: TenantView | null,
    name: string,
  ) {
    super(409, `tenant '${name}' already exists`);
  }
}
