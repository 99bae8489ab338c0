import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access, ApiProblemResponses, ProblemException, TenantRateLimiter, type AuthenticatedRequest } from '@tessera/runtime';
import { TenantRepository } from '@tessera/store';
import { ProfileDto, ProfileListDto } from './profile-read.dto';
import { answerListing, ApiListingQuery } from './profile-listing';
import { ProfileListing, ProfileReadsService } from './profile-reads.service';
import type { ProfileView } from './profile-view';
import { readScopeOf } from './read-scope';

/** GET routes of a customer account's profiles (seed 000, DESIGN §12). */
@ApiTags('customers')
@Controller('api/v1/customers/:customer/profiles')
export class CustomerProfilesReadController {
  constructor(
    private readonly reads: ProfileReadsService,
    private readonly tenants: TenantRepository,
    private readonly rateLimiter: TenantRateLimiter,
  ) {}

  @Get()
  @Access('read')
  @ApiOperation({ summary: "List a customer's profiles (parameters as the profile list)" })
  @ApiListingQuery()
  @ApiOkResponse({ type: ProfileListDto, description: "A page of the customer's profiles; header X-Total-Count = total" })
  @ApiProblemResponses(400, 401, 403)
  list(
    @Param('customer') customer: string,
    @Query() query: Record<string, unknown>,
    @Req() request: AuthenticatedRequest,
    @Res({ passthrough: true }) reply: { header(n: string, v: string): unknown },
  ): Promise<ProfileListing> {
    return answerListing({ reads: this.reads, tenants: this.tenants, rateLimiter: this.rateLimiter }, request, query, reply, customer);
  }

  @Get(':id')
  @Access('read')
  @ApiOperation({ summary: "One of a customer's profiles (404 when the profile is not that customer's)" })
  @ApiOkResponse({ type: ProfileDto })
  @ApiProblemResponses(401, 403, 404)
  async get(@Param('customer') customer: string, @Param('id') id: string, @Req() request: AuthenticatedRequest): Promise<ProfileView> {
    const scope = readScopeOf(request);
    await this.rateLimiter.take(scope.tenant, 1);
    const profile = await this.reads.getProfile(scope, id, customer);
    if (!profile) throw ProblemException.notFound(`customer ${customer} has no profile with id ${id}`);
    return profile;
  }
}
