import { TenantAdminError, TenantView } from '@tessera/profile-api/tenants/tenant-admin.rules';
import { TenantAdminService, TenantTakenError } from '@tessera/profile-api/tenants/tenant-admin.service';
import { defaultDisplayName, parseIdentifierRequest, SchemaRequestError, SchemaService } from '@tessera/schema';
import { TenantRepository } from '@tessera/store';
import { intFlag, positiveNumberFlag, UsageError } from '../cli-args';

type Flags = Record<string, string | boolean | undefined>;
type Out = { out: NodeJS.WritableStream; err: NodeJS.WritableStream };

/** A refused command that was well-formed (exit code 1). */
export class CliError extends Error {}

/**
 * Runs a call of the tenant service behind `/api/v1/tenants` (the CLI is its thin client): its 404/409
 * become exit 1 naming the tenant or key; its 400/422 (a bad value) a usage error (exit 2).
 */
export async function viaService<T>(usage: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof TenantAdminError)) throw error;
    if (error.status === 404) {
      const tenant = /^no tenant '(.*)'$/.exec(error.detail)?.[1];
      throw new CliError(tenant !== undefined ? `${error.detail} (create it with: npm run tessera -- tenants create ${tenant})` : error.detail);
    }
    if (error.status === 409) throw new CliError(error.detail, { cause: error });
    const fields = error.errors?.map((e) => e.message).join('; ');
    throw new UsageError(`${usage}: ${fields || error.detail}`);
  }
}

/** The tenant, or an error naming it (commands never create a tenant as a side effect). */
export async function requireTenant(tenants: TenantRepository, id: string | undefined, usage: string): Promise<TenantView> {
  if (!id) throw new UsageError(usage);
  return viaService(usage, () => new TenantAdminService(tenants).getTenant(id));
}

/**
 * `tenants create` (as `POST /api/v1/tenants`): creates, or says on stderr that the tenant exists and
 * leaves it unchanged (exit 0: idempotent). Ids may also hold `_` and `-`, as before issue 11.
 */
export async function createTenant(tenants: TenantRepository, id: string | undefined, name: string | undefined, io: Out): Promise<number> {
  const usage = 'tenants create <id>: id must match ^[a-z0-9][a-z0-9_-]{0,62}$';
  if (!id) throw new UsageError(usage);
  try {
    const t = await viaService(usage, () => new TenantAdminService(tenants).createTenant({ name: id, display_name: name }, { legacyNames: true }));
    io.out.write(`tenant ${t.name} (${t.display_name})\n`);
  } catch (error) {
    if (!(error instanceof CliError) || !(error.cause instanceof TenantTakenError)) throw error;
    io.err.write(`tenant ${id} already exists (${error.cause.existing?.display_name ?? id}); nothing changed\n`);
  }
  return 0;
}

/** `tenants set-rate-limit` (as `PATCH /api/v1/tenants/{tenant}` `{"rate_limit":…}`). */
export async function setRateLimit(tenants: TenantRepository, id: string | undefined, values: Flags, io: Out): Promise<number> {
  const usage = 'tenants set-rate-limit <id> --items-per-second N [--burst M] (positive numbers)';
  const itemsPerSecond = positiveNumberFlag(values['items-per-second'], 'items-per-second');
  if (itemsPerSecond === undefined || !id) throw new UsageError(usage);
  const burst = positiveNumberFlag(values.burst, 'burst', itemsPerSecond)!;
  const tenant = await viaService(usage, () => new TenantAdminService(tenants).updateTenant(id, { rate_limit: { items_per_second: itemsPerSecond, burst } }));
  const rateLimit = tenant.rate_limit && { itemsPerSecond: tenant.rate_limit.items_per_second, burst: tenant.rate_limit.burst };
  io.out.write(`tenant ${id}: ${JSON.stringify(rateLimit)} (applies within 5 s)\n`);
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

/**
 * `tenants set-region` (as `PATCH /api/v1/tenants/{tenant}` `{"default_region":…}`): the region phones
 * without a country code are read in (DESIGN §5, E.164); only regions with a phone numbering plan.
 */
export async function setRegion(tenants: TenantRepository, id: string | undefined, code: string | undefined, io: Out): Promise<number> {
  const usage = 'tenants set-region <id> <CC> (ISO 3166-1 alpha-2 country code, e.g. US)';
  if (!code || !id) throw new UsageError(usage);
  const tenant = await viaService('tenants set-region', () => new TenantAdminService(tenants).updateTenant(id, { default_region: code }));
  io.out.write(`tenant ${id}: default phone region ${tenant.default_region} (applies within 5 s)\n`);
  return 0;
}

/** `tenants list` (as `GET /api/v1/tenants`): id, name, created (tab-separated). */
export async function listTenants(tenants: TenantRepository, io: Out): Promise<number> {
  for (const t of await new TenantAdminService(tenants).listTenants()) io.out.write(`${t.name}\t${t.display_name}\t${t.created_at}\n`);
  return 0;
}
