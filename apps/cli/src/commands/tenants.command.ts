import { isSupportedRegion } from '@tessera/identity';
import { defaultDisplayName, parseIdentifierRequest, SchemaRequestError, SchemaService } from '@tessera/schema';
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

/**
 * `tenants add-identifier`: a thin client of the schema service behind `POST /v3/schema/identifiers`
 * (same name rules, same "name in use" refusal); `--limit` is the CLI's extra (a per-profile limit).
 */
export async function addIdentifier(tenants: TenantRepository, id: string | undefined, values: Flags, io: Out): Promise<number> {
  const usage = 'tenants add-identifier <id> --type NAME --confidence high|low [--limit 1]';
  const { type, confidence } = values;
  if (typeof type !== 'string') throw new UsageError(`${usage}: --type is required`);
  if (typeof confidence !== 'string') throw new UsageError(`${usage}: --confidence must be high or low`);
  const perProfileLimit = values.limit === undefined ? null : intFlag(values.limit, 'limit', 1);
  const request = { name: type, display_name: defaultDisplayName(type), merge_confidence: confidence, messaging: false };
  const schema = new SchemaService(tenants);
  try {
    parseIdentifierRequest(request); // bad flag values first (exit 2), then the tenant (exit 1)
    await requireTenant(tenants, id, usage);
    await schema.addIdentifier(id!, request, perProfileLimit);
  } catch (error) {
    if (!(error instanceof SchemaRequestError)) throw error;
    // A name in use is a well-formed command refused (exit 1); a bad flag value is a usage error (exit 2).
    if (error.invalids?.some((i) => i.field === 'customers.name')) {
      throw new CliError(`tenant ${id}: identifier type '${type}' is already used by another object (an identifier type or a declared field)`);
    }
    if (error.status === 404) throw new CliError(error.message);
    const flag: Record<string, string> = { name: 'type', merge_confidence: 'confidence' };
    const message = (error.invalids ?? [])
      .filter((i) => flag[i.field]) // the display name is derived from --type: its problem is --type's
      .map((i) => `--${flag[i.field]} ${i.reason}`)
      .join('; ');
    throw new UsageError(`${usage}: ${message || error.message}`);
  }
  const listed = await schema.listIdentifiers(id!);
  io.out.write(`tenant ${id}: identifier types ${listed.identifiers.map((t) => t.name).join(', ')} (applies within 5 s)\n`);
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
