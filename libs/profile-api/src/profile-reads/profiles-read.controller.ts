import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access, ApiProblemResponses, ProblemException, TenantRateLimiter, type AuthenticatedRequest } from '@tessera/runtime';
import { TenantRepository } from '@tessera/store';
import { ContactDto, ProfileDto, ProfileListDto } from './profile-read.dto';
import { answerListing, ApiListingQuery } from './profile-listing';
import { ProfileListing, ProfileReadsService } from './profile-reads.service';
import type { ContactView, ProfileView } from './profile-view';
import { readScopeOf } from './read-scope';

/** GET routes of profiles and their contacts (DESIGN §12). */
@ApiTags('profiles')
@Controller('api/v1/profiles')
export class ProfilesReadController {
  constructor(
    private readonly reads: ProfileReadsService,
    private readonly tenants: TenantRepository,
    private readonly rateLimiter: TenantRateLimiter,
  ) {}

  @Get()
  @Access('read')
  @ApiOperation({ summary: 'List, filter, sort and page profiles' })
  @ApiListingQuery()
  @ApiOkResponse({ type: ProfileListDto, description: 'A page of profiles; header X-Total-Count = total' })
  @ApiProblemResponses(400, 401, 403)
  list(@Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest, @Res({ passthrough: true }) reply: { header(n: string, v: string): unknown }): Promise<ProfileListing> {
    return answerListing({ reads: this.reads, tenants: this.tenants, rateLimiter: this.rateLimiter }, request, query, reply);
  }

  @Get(':id')
  @Access('read')
  @ApiOperation({ summary: 'A profile (a merged-away id answers with its survivor)' })
  @ApiOkResponse({ type: ProfileDto })
  @ApiProblemResponses(401, 403, 404)
  async get(@Param('id') id: string, @Req() request: AuthenticatedRequest): Promise<ProfileView> {
    return this.profileOr404(request, id);
  }

  @Get(':id/contacts')
  @Access('read')
  @ApiOperation({ summary: 'The contacts of a profile' })
  @ApiOkResponse({ type: [ContactDto] })
  @ApiProblemResponses(401, 403, 404)
  async contacts(@Param('id') id: string, @Req() request: AuthenticatedRequest): Promise<ContactView[]> {
    return (await this.profileOr404(request, id)).contacts;
  }

  @Get(':id/contacts/:contact_id')
  @Access('read')
  @ApiOperation({ summary: 'One contact of a profile' })
  @ApiOkResponse({ type: ContactDto })
  @ApiProblemResponses(401, 403, 404)
  async contact(@Param('id') id: string, @Param('contact_id') contactId: string, @Req() request: AuthenticatedRequest): Promise<ContactView> {
    const contact = (await this.profileOr404(request, id)).contacts.find((c) => c.contact_id === contactId);
    if (!contact) throw ProblemException.notFound(`profile ${id} has no contact ${contactId}`);
    return contact;
  }

  private async profileOr404(request: AuthenticatedRequest, id: string): Promise<ProfileView> {
    const scope = readScopeOf(request);
    await this.rateLimiter.take(scope.tenant, 1);
    const profile = await this.reads.getProfile(scope, id);
    // Another tenant's profile, or one outside the key's restrictions, is as unknown as a missing one.
    if (!profile) throw ProblemException.notFound(`no profile with id ${id}`);
    return profile;
  }
}
