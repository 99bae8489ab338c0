import { IdentifierRules, isSupportedRegion } from '@tessera/identity';
import { TenantEntity, TenantRepository } from '@tessera/store';
import { intFlag, positiveNumberFlag, UsageError } from '../cli-args';

type Flags = Record<string, string | boolean | undefined>;
type Out = { out: NodeJS.WritableStream; err: NodeJS.WritableStream };

/** The tenant, or an error naming it (commands never create a tenant as a side effect). */
export async function requireTenant(tenants: TenantRepository, id: string | undefined, usage: string): Promise<TenantEntity> {
  if (!id) throw new UsageError(usage);
  const tenant = (await tenants.listTenants()).find((t) => t.id === id);
  if (!tenant) throw new CliError(`no tenant '${id}' (create it with: npm run tessera -- tenants create ${id})`);
  return tenant;
}

/** A refused command that was well-formed (exit code 1). */
export class CliError extends Error {}

/** `tenants create`: creates, or says on stderr that the tenant exists and leaves it unchanged (exit 0: idempotent). */
export async function createTenant(tenants: TenantRepository, id: string | undefined, name: string | undefined, io: Out): Promise<number> {
  if (!id || !TenantRepository.isValidTenantId(id)) throw new UsageError('tenants create <id>: id must match ^[a-z0-9][a-z0-9_-]{0,62}$');
  const existing = (await tenants.listTenants()).find((t) => t.id === id);
  if (existing) {
    io.err.write(`tenant ${id} already exists (${existing.name}); nothing changed\n`);
    return 0;
  }
  const t = await tenants.ensureTenant(id, name ?? id);
  io.out.write(`tenant ${t.id} (${t.name})\n`);
  return 0;
}

export async function setRateLimit(tenants: TenantRepository, id: string | undefined, values: Flags, io: Out): Promise<number> {
  const usage = 'tenants set-rate-limit <id> --items-per-second N [--burst M] (positive numbers)';
  const itemsPerSecond = positiveNumberFlag(values['items-per-second'], 'items-per-second');
  if (itemsPerSecond === undefined) throw new UsageError(usage);
  const burst = positiveNumberFlag(values.burst, 'burst', itemsPerSecond)!;
  await requireTenant(tenants, id, usage);
  const settings = await tenants.updateSettings(id!, { rateLimit: { itemsPerSecond, burst } });
  io.out.write(`tenant ${id}: ${JSON.stringify(settings.rateLimit)} (applies within 5 s)\n`);
  return 0;
}

export async function addIdentifier(tenants: TenantRepository, id: string | undefined, values: Flags, io: Out): Promise<number> {
  const usage = 'tenants add-identifier <id> --type NAME --confidence high|low [--limit 1]';
  const { type } = values;
  const confidence: 'high' | 'low' | undefined = values.confidence === 'high' ? 'high' : values.confidence === 'low' ? 'low' : undefined;
  if (typeof type !== 'string' || !/^[a-z][a-z0-9_]{0,63}$/.test(type)) throw new UsageError(`${usage}: --type must match ^[a-z][a-z0-9_]{0,63}$`);
  if (!confidence) throw new UsageError(`${usage}: --confidence must be high or low`);
  const perProfileLimit = values.limit === undefined ? null : intFlag(values.limit, 'limit', 1);
  await requireTenant(tenants, id, usage);
  const current = (await tenants.settings(id!)).identifierTypes ?? [];
  const identifierTypes = [...current.filter((t) => t.type !== type), { type, confidence, perProfileLimit }];
  const rules = IdentifierRules.defaults().withCustomTypes(identifierTypes); // throws on a bad definition
  await tenants.updateSettings(id!, { identifierTypes });
  io.out.write(`tenant ${id}: identifier types ${rules.types().map((t) => t.type).join(', ')} (applies within 5 s)\n`);
  return 0;
}

/** `tenants set-region`: the default region phones without a country code are read in (DESIGN §5, E.164). */
export async function setRegion(tenants: TenantRepository, id: string | undefined, code: string | undefined, io: Out): Promise<number> {
  const usage = 'tenants set-region <id> <CC> (ISO 3166-1 alpha-2 country code, e.g. US)';
  if (!code) throw new UsageError(usage);
  const region = code.trim().toUpperCase();
  // Only regions the phone library has a numbering plan for: any other code could never normalise a phone.
  if (!/^[A-Z]{2}$/.test(region) || !isSupportedRegion(region)) {
    throw new UsageError(`tenants set-region: '${code}' is not an ISO 3166-1 alpha-2 country code with a phone numbering plan (e.g. US, GB, DE)`);
  }
  await requireTenant(tenants, id, usage);
  await tenants.updateSettings(id!, { defaultRegion: region });
  io.out.write(`tenant ${id}: default phone region ${region} (applies within 5 s)\n`);
  return 0;
}

export async function listTenants(tenants: TenantRepository, io: Out): Promise<number> {
  for (const t of await tenants.listTenants()) io.out.write(`${t.id}\t${t.name}\t${t.createdAt.toISOString()}\n`);
  return 0;
}
