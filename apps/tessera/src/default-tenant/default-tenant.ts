import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TENANT, generateApiKey, TenantRepository } from '@tessera/store';

export interface DefaultTenantKeys {
  tenant: string;
  publicKey: string;
  privateKey: string;
  /** The admin key of /api/v1/tenants (DESIGN §12): no tenant's key, never stored in the database. */
  adminKey: string;
}

/** Admin keys are told apart from tenant keys (tpk_/trk_/tsk_) at a glance. */
export function generateAdminKey(): string {
  return `tak_${randomBytes(24).toString('base64url')}`;
}

export const DEFAULT_KEYS_FILE = 'default-tenant-keys.json';

/**
 * Single-node mode's default tenant and the admin key. Each key comes from TESSERA_PUBLIC_KEY /
 * TESSERA_PRIVATE_KEY / TESSERA_ADMIN_KEY, else from the keys file in the data dir (mode 0600), else is
 * generated once and written there so it can be printed again at the next start. The database only
 * ever stores the tenant keys' hashes; the admin key is checked against the environment (the guard).
 */
export async function ensureDefaultTenant(
  tenants: TenantRepository,
  dataDir: string,
  fromEnv: { publicKey?: string; privateKey?: string; adminKey?: string },
): Promise<DefaultTenantKeys> {
  await tenants.ensureTenant(DEFAULT_TENANT, 'Default tenant');
  const file = join(dataDir, DEFAULT_KEYS_FILE);
  const persisted = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<DefaultTenantKeys>) : {};
  const keys: DefaultTenantKeys = {
    tenant: DEFAULT_TENANT,
    publicKey: fromEnv.publicKey ?? persisted.publicKey ?? generateApiKey('public'),
    privateKey: fromEnv.privateKey ?? persisted.privateKey ?? generateApiKey('private'),
    adminKey: fromEnv.adminKey ?? persisted.adminKey ?? generateAdminKey(),
  };
  if (keys.publicKey !== persisted.publicKey || keys.privateKey !== persisted.privateKey || keys.adminKey !== persisted.adminKey) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
  }
  // Idempotent: (re-)register both hashes so a wiped database still accepts the printed keys.
  await tenants.addApiKey(DEFAULT_TENANT, 'public', keys.publicKey, 'default');
  await tenants.addApiKey(DEFAULT_TENANT, 'private', keys.privateKey, 'default');
  return keys;
}
