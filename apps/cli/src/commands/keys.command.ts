import { API_KEY_KINDS, ApiKeyKind, TenantRepository } from '@tessera/store';
import { TenantAdminService } from '@tessera/profile-api/tenants/tenant-admin.service';
import { UsageError } from '../cli-args';
import { CliError, viaService } from './tenants.command';

type Flags = Record<string, string | boolean | undefined>;
type Out = { out: NodeJS.WritableStream; err: NodeJS.WritableStream };

/**
 * `keys create` (as `POST /api/v1/tenants/{tenant}/keys`). Prints only the key on stdout, so
 * `KEY=$(npm run --silent tessera -- keys create …)` captures exactly it.
 */
export async function createKey(tenants: TenantRepository, values: Flags, io: Out): Promise<number> {
  const { tenant, kind, label, restrictions } = values;
  const usage = 'keys create --tenant ID --kind public|read|private [--restrictions A,B] [--label TEXT]';
  if (typeof tenant !== 'string') throw new UsageError('keys create: --tenant is required');
  if (!API_KEY_KINDS.includes(kind as ApiKeyKind)) throw new UsageError('keys create: --kind must be public or private, or read (every GET, no writes)');
  const body = {
    kind,
    ...(typeof label === 'string' ? { label } : {}),
    ...(typeof restrictions === 'string' ? { restrictions: restrictions.split(',').map((r) => r.trim()).filter(Boolean) } : {}),
  };
  const created = await viaService(usage, () => new TenantAdminService(tenants).createKey(tenant, body));
  io.out.write(`${created.key}\n`);
  const scope = created.restrictions.length ? ` restricted to ${created.restrictions.join(', ')}` : '';
  io.err.write(`created a ${kind} key${scope} for tenant ${tenant} (prefix ${created.prefix}); it is shown only this once\n`);
  return 0;
}

/** `keys list` (as `GET /api/v1/tenants/{tenant}/keys`): prefix…, tenant, kind, label, state, restrictions (tab-separated). */
export async function listKeys(tenants: TenantRepository, tenant: string | undefined, io: Out): Promise<number> {
  const keys = await viaService('keys list [--tenant ID]', () => new TenantAdminService(tenants).listKeys(tenant));
  for (const k of keys) {
    io.out.write(`${k.prefix}…\t${k.tenant}\t${k.kind}\t${k.label ?? ''}\t${k.revoked_at ? 'revoked' : 'active'}\t${k.restrictions.join(',')}\n`);
  }
  return 0;
}

/** `keys revoke` (as `DELETE /api/v1/tenants/{tenant}/keys/{prefix}`, in any tenant): the key itself or its listed prefix. */
export async function revokeKey(tenants: TenantRepository, keyOrPrefix: string | undefined, io: Out): Promise<number> {
  if (!keyOrPrefix) throw new UsageError('keys revoke <key-or-prefix>');
  try {
    const revoked = await viaService('keys revoke <key-or-prefix>', () => new TenantAdminService(tenants).revokeKey(undefined, keyOrPrefix));
    io.out.write(`revoked 1 key(s)\n`);
    io.err.write(`revoked ${revoked.kind} key ${revoked.prefix}… of tenant ${revoked.tenant}: refused by every process within 5 s\n`);
  } catch (error) {
    // As before the service: the message names what matched nothing.
    if (error instanceof CliError && /^no active key matches/.test(error.message)) throw new CliError(`no active key matches '${keyOrPrefix}'`);
    throw error;
  }
  return 0;
}
