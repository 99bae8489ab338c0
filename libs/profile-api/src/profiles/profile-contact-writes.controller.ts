import { Body, Controller, Delete, HttpCode, Param, Patch, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { contactIdOf } from '@tessera/contracts';
import { Access, ApiProblemResponses, type AuthenticatedRequest, TenantRateLimiter } from '@tessera/runtime';
import { TenantRepository } from '@tessera/store';
import type { FastifyReply } from 'fastify';
import { parseContactBody } from './profile-body';
import { ProfileWriteAnswers } from './profile-write-answers.service';
import { ContactDto } from '../profile-reads/profile-read.dto';
import { NativeContactInputDto, NativeContactPatchDto, PendingWriteDto } from './profiles.dto';
import { bodyOrProblem, contactIdParam, LOCATION_HEADER, profileIdParam, sendAnswer, noQueryParameters, rateLimitedTenant } from './write-route.helpers';

const ID_PARAM = { name: 'id', description: 'The profile id', schema: { type: 'string', format: 'uuid' } } as const;
const CONTACT_ID_PARAM = { name: 'contact_id', description: 'The contact id (names the tenant, type and value)', schema: { type: 'string' } } as const;
const PENDING = { status: 202, description: 'On the log but not applied within TESSERA_SYNC_WRITE_TIMEOUT_MS; `Location` names the contact', type: PendingWriteDto, headers: LOCATION_HEADER };

/** Contacts (seed 002): the profile's identifiers; linking, changing and unlinking one is a record on the log. */
@ApiTags('contacts')
@Controller('api/v1/profiles/:id/contacts')
export class ProfileContactWritesController {
  constructor(
    private readonly answers: ProfileWriteAnswers,
    private readonly tenants: TenantRepository,
    private readonly rateLimiter: TenantRateLimiter,
  ) {}

  @Post()
  @Access('private')
  @ApiOperation({ summary: 'Add a contact', description: 'Links an identifier to the profile. One that belongs to another profile → 409 (no implicit merge).' })
  @ApiParam(ID_PARAM)
  @ApiBody({ type: NativeContactInputDto })
  @ApiResponse({ status: 201, description: 'Linked: the contact', type: ContactDto, headers: LOCATION_HEADER })
  @ApiResponse(PENDING)
  @ApiProblemResponses(400, 401, 403, 404, 409, 422, 429, 503)
  async add(@Param('id') id: string, @Body() body: unknown, @Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    noQueryParameters(query);
    const profileId = profileIdParam(id);
    const tenant = await rateLimitedTenant(this.rateLimiter, request);
    const contact = bodyOrProblem(parseContactBody(body, await this.tenants.identifierRules(tenant), 'post'));
    return sendAnswer(reply, await this.answers.contactWrite({ op: 'link-contact', tenant, profileId, contact }, true));
  }

  @Put(':contact_id')
  @Access('private')
  @ApiOperation({ summary: 'Replace a contact', description: 'A changed value unlinks the old contact and links the new one, which has its own id: the answer is the new contact.' })
  @ApiParam(ID_PARAM)
  @ApiParam(CONTACT_ID_PARAM)
  @ApiBody({ type: NativeContactInputDto })
  @ApiResponse({ status: 200, description: 'Applied: the (new) contact', type: ContactDto })
  @ApiResponse(PENDING)
  @ApiProblemResponses(400, 401, 403, 404, 409, 422, 429, 503)
  replace(@Param('id') id: string, @Param('contact_id') contactId: string, @Body() body: unknown, @Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    noQueryParameters(query);
    return this.change('put', id, contactId, body, request, reply);
  }

  @Patch(':contact_id')
  @Access('private')
  @ApiOperation({ summary: 'Change a contact', description: 'As PUT; `key` or `value` left out is kept.' })
  @ApiParam(ID_PARAM)
  @ApiParam(CONTACT_ID_PARAM)
  @ApiBody({ type: NativeContactPatchDto })
  @ApiResponse({ status: 200, description: 'Applied: the (new) contact', type: ContactDto })
  @ApiResponse(PENDING)
  @ApiProblemResponses(400, 401, 403, 404, 409, 422, 429, 503)
  patch(@Param('id') id: string, @Param('contact_id') contactId: string, @Body() body: unknown, @Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    noQueryParameters(query);
    return this.change('patch', id, contactId, body, request, reply);
  }

  @Delete(':contact_id')
  @HttpCode(204)
  @Access('private')
  @ApiOperation({ summary: 'Remove a contact', description: 'Unlinks the identifier: it no longer resolves to this profile.' })
  @ApiParam(ID_PARAM)
  @ApiParam(CONTACT_ID_PARAM)
  @ApiResponse({ status: 204, description: 'Unlinked' })
  @ApiResponse(PENDING)
  @ApiProblemResponses(401, 403, 404, 429, 503)
  async remove(@Param('id') id: string, @Param('contact_id') contactId: string, @Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    noQueryParameters(query);
    const profileId = profileIdParam(id);
    const contact = contactIdParam(contactId);
    const tenant = await rateLimitedTenant(this.rateLimiter, request);
    return sendAnswer(reply, await this.answers.contactDelete(tenant, profileId, contact));
  }

  private async change(mode: 'put' | 'patch', id: string, contactId: string, body: unknown, request: AuthenticatedRequest, reply: FastifyReply) {
    const profileId = profileIdParam(id);
    contactIdParam(contactId);
    const tenant = await rateLimitedTenant(this.rateLimiter, request);
    const existing = await this.answers.readContact(tenant, profileId, contactId);
    const contact = bodyOrProblem(parseContactBody(body, await this.tenants.identifierRules(tenant), mode, existing));
    // The same key and value (e.g. a contact PUT back as read): nothing to change.
    if (contactIdOf(tenant, contact.type, contact.value) === existing.contact_id) return sendAnswer(reply, { status: 200, body: existing });
    return sendAnswer(reply, await this.answers.contactWrite({ op: 'replace-contact', tenant, profileId, contactId, contact }, false));
  }
}
