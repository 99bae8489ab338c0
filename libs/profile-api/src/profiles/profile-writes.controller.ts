import { Body, Controller, Delete, HttpCode, Param, Patch, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Access, ApiProblemResponse, ApiProblemResponses, type AuthenticatedRequest, TenantRateLimiter } from '@tessera/runtime';
import { TenantRepository } from '@tessera/store';
import type { FastifyReply } from 'fastify';
import { parseProfileBody, type ProfileWriteMode } from './profile-body';
import { foldContacts } from './contact-fold';
import { ProfileWriteAnswers, profilePath } from './profile-write-answers.service';
import { ProfileDto } from '../profile-reads/profile-read.dto';
import { NativeProfileWriteDto, PendingWriteDto } from './profiles.dto';
import { bodyOrProblem, bodyRulesOf, ERASURE_PENDING, LOCATION_HEADER, normaliserOf, profileIdParam, sendAnswer, noQueryParameters, rateLimitedTenant } from './write-route.helpers';

const ID_PARAM = { name: 'id', description: 'The profile id (a merged-away id writes to its survivor)', schema: { type: 'string', format: 'uuid' } } as const;
const PENDING = { status: 202, description: 'On the log but not applied within TESSERA_SYNC_WRITE_TIMEOUT_MS; `Location` names the profile', type: PendingWriteDto, headers: LOCATION_HEADER };

/** The native profile writes (DESIGN §12): each a record on the log, answered once the projection applied it. */
@ApiTags('profiles')
@ApiExtraModels(ProfileDto, PendingWriteDto)
@Controller('api/v1/profiles')
export class ProfileWritesController {
  constructor(
    private readonly answers: ProfileWriteAnswers,
    private readonly tenants: TenantRepository,
    private readonly rateLimiter: TenantRateLimiter,
  ) {}

  @Post()
  @Access('private')
  @ApiOperation({ summary: 'Create a profile', description: '`attributes` (or `contacts`) must hold at least one identifier. An identifier that already belongs to a profile → 409 naming that profile.' })
  @ApiBody({ type: NativeProfileWriteDto, examples: { seed002: { value: { attributes: { first_name: 'Mary', last_name: 'Smith' }, contacts: [{ key: 'email', value: 'mary.smith@example.com' }], status: 'active', tags: ['blue'] } } } })
  @ApiResponse({ status: 201, description: 'Created and applied: the profile', type: ProfileDto, headers: LOCATION_HEADER })
  @ApiResponse(PENDING)
  @ApiProblemResponses(400, 401, 403, 409, 422, 429, 503)
  async create(@Body() body: unknown, @Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    noQueryParameters(query);
    const tenant = await rateLimitedTenant(this.rateLimiter, request);
    const rules = await bodyRulesOf(this.tenants, tenant);
    const { contacts, ...fields } = bodyOrProblem(parseProfileBody(body, rules, { mode: 'create', route: 'profiles' }));
    // The port's create takes its identifiers in `attributes`; contacts that do not fit there are linked after.
    const { attributes, rest } = foldContacts(fields.attributes, contacts, normaliserOf(rules));
    return sendAnswer(reply, await this.answers.profileWrite({ op: 'create', tenant, ...fields, attributes }, rest, { created: true, locationOf: profilePath }));
  }

  @Put(':id')
  @Access('private')
  @ApiOperation({ summary: 'Replace a profile', description: 'Replaces attributes, status and tags: attributes left out are cleared. Listed contacts are linked (none is unlinked: DELETE the contact). Read-only fields are ignored, so what was read can be PUT back.' })
  @ApiParam(ID_PARAM)
  @ApiBody({ type: NativeProfileWriteDto })
  @ApiResponse({ status: 200, description: 'Applied: the profile', type: ProfileDto })
  @ApiResponse(PENDING)
  @ApiProblemResponses(400, 401, 403, 404, 409, 422, 429, 503)
  replace(@Param('id') id: string, @Body() body: unknown, @Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    noQueryParameters(query);
    return this.change('replace', id, body, request, reply);
  }

  @Patch(':id')
  @Access('private')
  @ApiOperation({ summary: 'Change a profile', description: 'Merges like a /v3 upsert: attributes given are set (null clears), others kept; status, tags, password only when given.' })
  @ApiParam(ID_PARAM)
  @ApiBody({ type: NativeProfileWriteDto })
  @ApiResponse({ status: 200, description: 'Applied: the profile', type: ProfileDto })
  @ApiResponse(PENDING)
  @ApiProblemResponses(400, 401, 403, 404, 409, 422, 429, 503)
  patch(@Param('id') id: string, @Body() body: unknown, @Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    noQueryParameters(query);
    return this.change('patch', id, body, request, reply);
  }

  @Delete(':id')
  @HttpCode(204)
  @Access('private')
  @ApiOperation({ summary: 'Erase a profile', description: 'The erasure of DESIGN §11: the profile and what identifies it are erased.' })
  @ApiParam(ID_PARAM)
  @ApiResponse({ status: 204, description: 'Erased: the projection no longer holds the profile' })
  @ApiResponse(ERASURE_PENDING)
  @ApiProblemResponse(404, 'No such profile in the key\'s tenant')
  @ApiProblemResponses(401, 403, 429, 503)
  async erase(@Param('id') id: string, @Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    noQueryParameters(query);
    const profileId = profileIdParam(id);
    const tenant = await rateLimitedTenant(this.rateLimiter, request);
    return sendAnswer(reply, await this.answers.erase(tenant, profileId));
  }

  private async change(mode: Exclude<ProfileWriteMode, 'create'>, id: string, body: unknown, request: AuthenticatedRequest, reply: FastifyReply) {
    const profileId = profileIdParam(id);
    const tenant = await rateLimitedTenant(this.rateLimiter, request);
    const parsed = bodyOrProblem(parseProfileBody(body, await bodyRulesOf(this.tenants, tenant), { mode, route: 'profiles', profileId }));
    const { contacts, ...fields } = parsed;
    return sendAnswer(reply, await this.answers.profileWrite({ op: mode, tenant, profileId, ...fields }, contacts, { created: false, locationOf: profilePath }));
  }
}
