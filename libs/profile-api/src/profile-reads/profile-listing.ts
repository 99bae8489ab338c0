import { applyDecorators } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import { ProblemException, type AuthenticatedRequest, type TenantRateLimiter } from '@tessera/runtime';
import type { TenantRepository } from '@tessera/store';
import { parseListingQuery } from './listing-query';
import type { ProfileListing, ProfileReadsService } from './profile-reads.service';
import { readScopeOf } from './read-scope';

/** The header that repeats a listing's `total` (DESIGN §12). */
export const TOTAL_COUNT_HEADER = 'X-Total-Count';

/** A listing request: parsed with the tenant's identifier rules (filters normalised like a look-up), 400 naming a bad parameter. */
export async function answerListing(
  deps: { reads: ProfileReadsService; tenants: TenantRepository; rateLimiter: TenantRateLimiter },
  request: AuthenticatedRequest,
  query: Record<string, unknown>,
  reply: { header(name: string, value: string): unknown },
  customer?: string,
): Promise<ProfileListing> {
  const scope = readScopeOf(request);
  await deps.rateLimiter.take(scope.tenant, 1);
  const rules = await deps.tenants.identifierRules(scope.tenant);
  const parsed = parseListingQuery(query, rules, customer);
  if (!parsed.ok) throw ProblemException.badParameter(parsed.problem.parameter, parsed.problem.message);
  const listing = await deps.reads.list(scope, parsed.query, customer);
  reply.header(TOTAL_COUNT_HEADER, String(listing.total));
  return listing;
}

/** OpenAPI: the listing's query parameters. */
export function ApiListingQuery(): MethodDecorator {
  const optional = { required: false } as const;
  return applyDecorators(
    ApiQuery({ name: 'limit', ...optional, description: 'Page size, 1–500 (default 60); with `offset`', schema: { type: 'integer', minimum: 1, maximum: 500, default: 60 } }),
    ApiQuery({ name: 'offset', ...optional, description: 'Profiles to skip (0–1,000,000; default 0)', schema: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0 } }),
    ApiQuery({ name: 'pageNumber', ...optional, description: 'Page number from 1 (with `pageSize`; not with limit/offset)', schema: { type: 'integer', minimum: 1 } }),
    ApiQuery({ name: 'pageSize', ...optional, description: 'Page size, 1–500 (default 60)', schema: { type: 'integer', minimum: 1, maximum: 500 } }),
    ApiQuery({ name: 'cursor', ...optional, description: 'The `next` of the previous page, sent with the same filter, sort and limit', schema: { type: 'string' } }),
    ApiQuery({ name: 'sort', ...optional, description: '`field[:asc|desc][,…]`: created_at (default, asc), updated_at, id, status or an attribute', schema: { type: 'string' }, example: 'updated_at:desc' }),
    ApiQuery({ name: 'sort_by', ...optional, description: 'One sort field (not with `sort`)', schema: { type: 'string' } }),
    ApiQuery({ name: 'sort_order', ...optional, description: 'asc or desc (with `sort_by`)', schema: { type: 'string', enum: ['asc', 'desc'] } }),
    ApiQuery({
      name: 'filter',
      ...optional,
      style: 'deepObject',
      explode: true,
      description: '`filter[field]=value`: equality on an attribute, `status`, `tag`, `created_at`, `updated_at` or an identifier type (normalised like a look-up); AND-ed',
      schema: { type: 'object', additionalProperties: { type: 'string' } },
    }),
    ApiQuery({ name: 'q', ...optional, description: '`field:value[,field:value…]` (AND): `value*` is a prefix; `>=v`, `<=v`, `>v`, `<v` compare numbers or ISO times', schema: { type: 'string' }, example: 'city:Bos*,orders:>=3' }),
  );
}
