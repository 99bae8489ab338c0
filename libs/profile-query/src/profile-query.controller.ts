import { Controller, Get, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { withoutSystemAttributes } from '@tessera/contracts';
import { Access, ApiProblemException, AuthenticatedRequest, TenantRateLimiter } from '@tessera/runtime';
import { ProfileQueryRepository, TenantRepository } from '@tessera/store';
import { lookUpAttributes } from './plural-identifiers';
import { ApiProfileLookup } from './profile-query.dto';
import { restrictionAllows } from './restriction-scope';
import { restoreUnencodedPlus } from './unencoded-plus';

@ApiTags('profiles (v3)')
@Controller('v3/profiles')
export class ProfileQueryController {
  constructor(
    private readonly profiles: ProfileQueryRepository,
    private readonly tenants: TenantRepository,
    private readonly rateLimiter: TenantRateLimiter,
  ) {}

  /** Look-up by exactly one identifier, normalised as on ingest (DESIGN §3). */
  @Get()
  @Access('read')
  @ApiOperation({ summary: 'Look a profile up by one identifier (Zaius v3)' })
  @ApiProfileLookup()
  async find(@Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest & { url: string }) {
    const { tenant, restrictions } = request.principal!;
    await this.rateLimiter.take(tenant, 1);
    const rules = await this.tenants.identifierRules(tenant);
    const names = Object.keys(query);
    const types = rules.types().map((t) => t.type);
    const known = types.join(', ');
    if (names.length !== 1) {
      throw new ApiProblemException(400, {
        message: names.length === 0 ? `exactly one identifier query parameter is required (${known})` : `exactly one identifier query parameter is allowed; got ${names.join(', ')}`,
      });
    }
    const [type] = names;
    // Phones only: a leading space means nothing in a phone number, a leading `+` does.
    const raw = type === 'phone' && typeof query[type] === 'string' ? restoreUnencodedPlus(request.url, type, query[type]) : query[type];
    if (!rules.isIdentifier(type)) throw new ApiProblemException(400, { message: `\`${type}\` is not an identifier type (${known})` });
    if (typeof raw !== 'string') throw new ApiProblemException(400, { message: `\`${type}\` must be given once` });
    if (raw.trim() === '') throw new ApiProblemException(400, { message: `\`${type}\` must not be empty` });
    // As on ingest: PostgreSQL text cannot hold U+0000, so no identifier ever contains it.
    if (raw.includes('\u0000')) throw new ApiProblemException(400, { message: `\`${type}\` must not contain the NUL character (U+0000)` });
    const normalised = rules.normalise(type, raw);
    if (!normalised.ok) {
      if (normalised.blocked) throw notFound(type, raw);
      throw new ApiProblemException(400, { message: `\`${type}\` ${normalised.reason}` });
    }
    const profile = await this.profiles.findByIdentifier(tenant, type, normalised.value);
    // A profile outside the key's restrictions (seed 004) is as unknown as a missing one.
    if (!profile || !restrictionAllows(restrictions, profile.attributes)) throw notFound(type, normalised.value);
    return {
      // `$status`, `$tags`, `$password`… are the native API's fields (DESIGN §12), never a look-up's attributes.
      attributes: lookUpAttributes(withoutSystemAttributes(profile.attributes), profile.recentIdentifiers, types, profile.id),
      identifiers: profile.identifiers,
      created_at: profile.createdAt,
      updated_at: profile.updatedAt,
    };
  }
}

function notFound(type: string, value: string): ApiProblemException {
  return new ApiProblemException(404, { message: `Unable to find profile for ${type} = ${value}` });
}
