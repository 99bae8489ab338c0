import { API_KEY_KINDS, ApiKeyKind, TenantRepository } from '@tessera/store';
import { UsageError } from '../cli-args';
import { CliError, requireTenant } from './tenants.command';

type Flags = Record<string, string | boolean | undefined>;
type Out = { out: NodeJS.WritableStream; err: NodeJS.WritableStream };

/** Prints only the key on stdout, so `KEY=$(npm run --silent tessera -- keys create …)` captures exactly it. */
export async function createKey(tenants: TenantRepository, values: Flags, io: Out): Promise<number> {
  const { tenant, kind, label } = values;
  if (typeof tenant !== 'string') throw new UsageError('keys create: --tenant is required');
  if (!API_KEY_KINDS.includes(kind as ApiKeyKind)) throw new UsageError('keys create: --kind must be public or private, or read (every GET, no writes)');
  await requireTenant(tenants, tenant, 'keys create --tenant ID');
  const key = await tenants.createApiKey(tenant, kind as ApiKeyKind, typeof label === 'string' ? label : undefined);
  io.out.write(`${key}\n`);
  io.err.write(`created a ${kind} key for tenant ${tenant}; it is shown only this once\n`);
  return 0;
}

export async function listKeys(tenants: TenantRepository, tenant: string | undefined, io: Out): Promise<number> {
  if (tenant !== undefined) await requireTenant(tenants, tenant, 'keys list [--tenant ID]');
  for (const k of await tenants.listApiKeys(tenant)) {
    io.out.write(`${k.prefix}…\t${k.tenantId}\t${k.kind}\t${k.label ?? ''}\t${k.revokedAt ? 'revoked' : 'active'}\n`);
  }
  return 0;
}

export async function revokeKey(tenants: TenantRepository, keyOrPrefix: string | undefined, io: Out): Promise<number> {
  if (!keyOrPrefix) throw new UsageError('keys revoke <key-or-prefix>');
  const n = await tenants.revokeApiKey(keyOrPrefix);
  if (n === 0) throw new CliError(`no active key matches '${keyOrPrefix}'`);
  io.out.write(`revoked ${n} key(s)\n`);
  return 0;
}
