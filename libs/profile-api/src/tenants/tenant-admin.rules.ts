import { isSupportedRegion } from '@tessera/identity';
import type { ApiKeyEntity, ApiKeyKind, TenantEntity, TenantSettings } from '@tessera/store';
import { API_KEY_KINDS } from '@tessera/store';

/**
 * Tenants and keys (DESIGN §12, seed 004): the request rules and answer shapes shared by
 * `/api/v1/tenants` and the CLI's `tenants …` / `keys …` commands. No Nest, no database.
 */

/** Seed 004's tenant names: lower-case letters and digits, starting with a letter. */
export const TENANT_NAME = /^[a-z][a-z0-9]+$/;
/** Ids the CLI made before issue 11 may also hold `_` and `-` (the CLI still takes them). */
export const LEGACY_TENANT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const TENANT_NAME_MAX = 63;
export const MAX_RESTRICTIONS = 100;
export const RESTRICTION_MAX_LENGTH = 128;
const TEXT_MAX = 200;
const RATE_MAX = 1_000_000_000;

export interface FieldError {
  field: string;
  message: string;
}

/** A refused request: 400 (a tenant name), 404, 409 or 422 (`errors` name the body fields). */
export class TenantAdminError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 422,
    readonly detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
  }

  static invalid(errors: FieldError[]): TenantAdminError {
    const detail = errors.length === 1 ? `\`${errors[0].field}\` ${errors[0].message}` : `${errors.length} fields are invalid`;
    return new TenantAdminError(422, detail, errors);
  }
}

/** A tenant as answered. */
export interface TenantView {
  name: string;
  display_name: string;
  default_region: string | null;
  rate_limit: { items_per_second: number; burst: number } | null;
  created_at: string;
}

/** A key as listed: never the key, only its prefix. `restrictions: []` = unrestricted. */
export interface ApiKeyView {
  prefix: string;
  tenant: string;
  kind: ApiKeyKind;
  restrictions: string[];
  label: string | null;
  created_at: string;
  revoked_at: string | null;
}

/** The answer to a key's creation: the only time the key itself is shown. */
export interface CreatedApiKeyView extends ApiKeyView {
  key: string;
}

export interface TenantCreation {
  name: string;
  displayName: string;
}

/** A settings change; `null` clears a setting (back to the process default). */
export interface TenantSettingsPatch {
  defaultRegion?: string | null;
  rateLimit?: TenantSettings['rateLimit'] | null;
}

export interface KeyCreation {
  kind: ApiKeyKind;
  restrictions: string[] | null;
  label: string | null;
}

export function tenantView(tenant: TenantEntity): TenantView {
  const { defaultRegion, rateLimit } = tenant.settings ?? {};
  return {
    name: tenant.id,
    display_name: tenant.name,
    default_region: defaultRegion ?? null,
    rate_limit: rateLimit ? { items_per_second: rateLimit.itemsPerSecond, burst: rateLimit.burst } : null,
    created_at: tenant.createdAt.toISOString(),
  };
}

export function apiKeyView(key: ApiKeyEntity): ApiKeyView {
  return {
    prefix: key.prefix,
    tenant: key.tenantId,
    kind: key.kind,
    restrictions: key.restrictions ?? [],
    label: key.label,
    created_at: key.createdAt.toISOString(),
    revoked_at: key.revokedAt ? key.revokedAt.toISOString() : null,
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body as an object whose fields are all known; anything else is a 422 naming the field. */
function bodyFields(body: unknown, known: readonly string[]): Record<string, unknown> {
  if (!isPlainObject(body)) throw TenantAdminError.invalid([{ field: 'body', message: 'must be a JSON object' }]);
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (unknown.length) throw TenantAdminError.invalid(unknown.map((field) => ({ field, message: `is not a field of this request (fields: ${known.join(', ')})` })));
  return body;
}

function optionalText(value: unknown, field: string, errors: FieldError[]): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.trim() === '' || value.length > TEXT_MAX || /\p{Cc}/u.test(value)) {
    errors.push({ field, message: `must be a string of 1–${TEXT_MAX} printable characters` });
    return null;
  }
  return value;
}

/**
 * `POST /api/v1/tenants` `{"name":"…","display_name":"…"}`. A name that is not `^[a-z][a-z0-9]+$`
 * is a 400 (DESIGN §12); a missing name or another bad field is a 422. `legacyNames`: the CLI's rule.
 */
export function parseTenantCreation(body: unknown, options: { legacyNames?: boolean } = {}): TenantCreation {
  const fields = bodyFields(body, ['name', 'display_name']);
  const errors: FieldError[] = [];
  if (typeof fields.name !== 'string') errors.push({ field: 'name', message: 'is required: a string matching ^[a-z][a-z0-9]+$' });
  const displayName = optionalText(fields.display_name, 'display_name', errors);
  if (errors.length) throw TenantAdminError.invalid(errors);
  const name = fields.name as string;
  const rule = options.legacyNames ? LEGACY_TENANT_NAME : TENANT_NAME;
  if (!rule.test(name) || name.length > TENANT_NAME_MAX) {
    throw new TenantAdminError(400, `\`name\` must match ${rule.source} (at most ${TENANT_NAME_MAX} characters); got ${JSON.stringify(name.slice(0, 80))}`);
  }
  return { name, displayName: displayName ?? name };
}

/** Why a region is refused, or null: ISO 3166-1 alpha-2 codes the phone library has a numbering plan for. */
export function regionProblem(code: string): string | null {
  const region = code.trim().toUpperCase();
  return /^[A-Z]{2}$/.test(region) && isSupportedRegion(region)
    ? null
    : `'${code.slice(0, 20)}' is not an ISO 3166-1 alpha-2 country code with a phone numbering plan (e.g. US, GB, DE)`;
}

function positiveRate(value: unknown, field: string, errors: FieldError[]): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= RATE_MAX) return value;
  errors.push({ field, message: `must be a number above 0 and at most ${RATE_MAX}` });
  return undefined;
}

function parseRateLimit(value: unknown, errors: FieldError[]): TenantSettingsPatch['rateLimit'] {
  if (value === null) return null;
  if (!isPlainObject(value)) {
    errors.push({ field: 'rate_limit', message: 'must be an object {"items_per_second": n, "burst": m} or null' });
    return undefined;
  }
  const unknown = Object.keys(value).filter((k) => k !== 'items_per_second' && k !== 'burst');
  for (const k of unknown) errors.push({ field: `rate_limit.${k}`, message: 'is not a field of rate_limit (items_per_second, burst)' });
  const itemsPerSecond = positiveRate(value.items_per_second, 'rate_limit.items_per_second', errors);
  const burst = value.burst === undefined ? itemsPerSecond : positiveRate(value.burst, 'rate_limit.burst', errors);
  return itemsPerSecond !== undefined && burst !== undefined && !unknown.length ? { itemsPerSecond, burst } : undefined;
}

/** `PATCH /api/v1/tenants/{tenant}` `{"default_region":"GB"|null,"rate_limit":{…}|null}`: only the fields sent change. */
export function parseTenantPatch(body: unknown): TenantSettingsPatch {
  const fields = bodyFields(body, ['default_region', 'rate_limit']);
  const errors: FieldError[] = [];
  const patch: TenantSettingsPatch = {};
  if (fields.default_region === null) patch.defaultRegion = null;
  else if (typeof fields.default_region === 'string') {
    const problem = regionProblem(fields.default_region);
    if (problem) errors.push({ field: 'default_region', message: problem });
    else patch.defaultRegion = fields.default_region.trim().toUpperCase();
  } else if (fields.default_region !== undefined) errors.push({ field: 'default_region', message: 'must be an ISO 3166-1 alpha-2 country code (e.g. "GB") or null' });
  if (fields.rate_limit !== undefined) {
    const rateLimit = parseRateLimit(fields.rate_limit, errors);
    if (rateLimit !== undefined) patch.rateLimit = rateLimit;
  }
  if (errors.length) throw TenantAdminError.invalid(errors);
  return patch;
}

/** `POST /api/v1/tenants/{tenant}/keys` `{"kind":"public"|"read"|"private","restrictions":[…],"label":"…"}`. */
export function parseKeyCreation(body: unknown): KeyCreation {
  const fields = bodyFields(body, ['kind', 'restrictions', 'label']);
  const errors: FieldError[] = [];
  if (!API_KEY_KINDS.includes(fields.kind as ApiKeyKind)) {
    errors.push({ field: 'kind', message: 'must be "public" (ingest only), "read" (every GET) or "private" (everything)' });
  }
  const restrictions = parseRestrictions(fields.restrictions, errors);
  const label = optionalText(fields.label, 'label', errors);
  if (errors.length) throw TenantAdminError.invalid(errors);
  return { kind: fields.kind as ApiKeyKind, restrictions, label };
}

/** `null` (absent, null or `[]`): unrestricted. Values are compared exactly with a profile's `restriction` attribute. */
export function parseRestrictions(value: unknown, errors: FieldError[]): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) {
    errors.push({ field: 'restrictions', message: 'must be an array of strings' });
    return null;
  }
  if (value.length > MAX_RESTRICTIONS) errors.push({ field: 'restrictions', message: `must hold at most ${MAX_RESTRICTIONS} values` });
  value.forEach((r, i) => {
    if (typeof r !== 'string' || r === '' || r.length > RESTRICTION_MAX_LENGTH || /\p{Cc}/u.test(r)) {
      errors.push({ field: `restrictions[${i}]`, message: `must be a string of 1–${RESTRICTION_MAX_LENGTH} printable characters` });
    }
  });
  return value.length ? [...new Set(value as string[])] : null;
}

