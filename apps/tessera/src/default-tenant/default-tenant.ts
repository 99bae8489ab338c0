import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TENANT, generateApiKey, TenantRepository } from '@tessera/store';

export interface DefaultTenantKeys {
  tenant: string;
  publicKey: string;
  privateKey: string;
}

export const DEFAULT_KEYS_FILE = 'default-tenant-keys.json';

/**
 * Single-node mode's default tenant. Each key comes from TESSERA_PUBLIC_KEY / TESSERA_PRIVATE_KEY,
 * else from the keys file in the data dir (mode 0600), else is generated once and written there so
 * it can be printed again at the next start. The database only ever stores hashes.
 */
export async function ensureDefaultTenant(
  tenants: TenantRepository,
  dataDir: string,
  fromEnv: { publicKey?: string; privateKey?: string },
): Promise<DefaultTenantKeys> {
  await tenants.ensureTenant(DEFAULT_TENANT, 'Default tenant');
  const file = join(dataDir, DEFAULT_KEYS_FILE);
  const persisted = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<DefaultTenantKeys>) : {};
  const keys: DefaultTenantKeys = {
    tenant: DEFAULT_TENANT,
    publicKey: fromEnv.publicKey ?? persisted.publicKey ?? generateApiKey('public'),
    privateKey: fromEnv.privateKey ?? persisted.privateKey ?? generateApiKey('private'),
  };
  if (keys.publicKey !== persisted.publicKey || keys.privateKey !== persisted.privateKey) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
  }
  // Idempotent: (re-)register both hashes so a wiped database still accepts the printed keys.
  await tenants.addApiKey(DEFAULT_TENANT, 'public', keys.publicKey, 'default');
  await tenants.addApiKey(DEFAULT_TENANT, 'private', keys.privateKey, 'default');
  return keys;
}
