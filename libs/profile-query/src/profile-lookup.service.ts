import { Injectable } from '@nestjs/common';
import { withoutSystemAttributes } from '@tessera/contracts';
import type { IdentifierRules } from '@tessera/identity';
import { ApiProblemException, TenantRateLimiter } from '@tessera/runtime';
import { ApiKeyPrincipal, ProfileQueryRepository, TenantRepository } from '@tessera/store';
import { lookUpAttributes } from './plural-identifiers';
import { restrictionAllows } from './restriction-scope';
import { restoreUnencodedPlus } from './unencoded-plus';

export interface ProfileLookupAnswer {
  attributes: Record<string, unknown>;
  identifiers: Record<string, string[]>;
  created_at: string;
  updated_at: string;
}

/** A tenant's identifier type names, and the list the 400s name (kept per rules object: rules are cached 5 s). */
interface TypeNames {
  types: string[];
  known: string;
}

/**
 * `GET /v3/profiles?{identifier}={value}` (DESIGN §3): the work of the look-up, served by the lean
 * route (profile-query.lean-route.ts) and by the Nest controller alike.
 */
@Injectable()
export class ProfileLookupService {
  private readonly names = new WeakMap<IdentifierRules, TypeNames>();

  constructor(
    private readonly profiles: ProfileQueryRepository,
    private readonly tenants: TenantRepository,
    private readonly rateLimiter: TenantRateLimiter,
  ) {}

  /** Look-up by exactly one identifier, normalised as on ingest. `url`: the raw request URL (a literal `+` in `?phone=`). */
  async find(principal: ApiKeyPrincipal, query: Record<string, unknown>, url: string): Promise<ProfileLookupAnswer> {
    const { tenant, restrictions } = principal;
    await this.rateLimiter.take(tenant, 1);
    const rules = await this.tenants.identifierRules(tenant);
    const names = Object.keys(query);
    const { types, known } = this.typeNames(rules);
    if (names.length !== 1) {
      throw new ApiProblemException(400, {
        message: names.length === 0 ? `exactly one identifier query parameter is required (${known})` : `exactly one identifier query parameter is allowed; got ${names.join(', ')}`,
      });
    }
    const [type] = names;
    // Phones only: a leading space means nothing in a phone number, a leading `+` does.
    const raw = type === 'phone' && typeof query[type] === 'string' ? restoreUnencodedPlus(url, type, query[type]) : query[type];
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

  private typeNames(rules: IdentifierRules): TypeNames {
    let names = this.names.get(rules);
    if (!names) {
      const types = rules.types().map((t) => t.type);
      names = { types, known: types.join(', ') };
      this.names.set(rules, names);
    }
    return names;
  }
}

function notFound(type: string, value: string): ApiProblemException {
  return new ApiProblemException(404, { message: `Unable to find profile for ${type} = ${value}` });
}
