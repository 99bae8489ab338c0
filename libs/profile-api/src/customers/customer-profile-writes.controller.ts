import { Body, Controller, Delete, HttpCode, Param, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Access, ApiProblemResponses, type AuthenticatedRequest, ProblemException, TenantRateLimiter } from '@tessera/runtime';
import { TenantRepository } from '@tessera/store';
import type { FastifyReply } from 'fastify';
import { foldContacts } from '../profiles/contact-fold';
import { CUSTOMER_ID_PATTERN, parseProfileBody } from '../profiles/profile-body';
import { ProfileWriteAnswers } from '../profiles/profile-write-answers.service';
import { ProfileDto } from '../profile-reads/profile-read.dto';
import { PendingWriteDto } from '../profiles/profiles.dto';
import { bodyOrProblem, bodyRulesOf, ERASURE_PENDING, LOCATION_HEADER, normaliserOf, profileIdParam, sendAnswer, noQueryParameters, rateLimitedTenant } from '../profiles/write-route.helpers';
import { CustomerProfileWriteDto } from './customers.dto';

const CUSTOMER_PARAM = { name: 'customer', description: 'The customer account id', schema: { type: 'string' } } as const;
const ID_PARAM = { name: 'id', description: 'The profile id', schema: { type: 'string', format: 'uuid' } } as const;
const PENDING = { status: 202, description: 'On the log but not applied within TESSERA_SYNC_WRITE_TIMEOUT_MS; `Location` names the profile', type: PendingWriteDto, headers: LOCATION_HEADER };

// The customer matches CUSTOMER_ID_PATTERN: every character of it is allowed in a path segment as it is.
export const customerProfilePath = (customer: string, id: string) => `/api/v1/customers/${customer}/profiles/${id}`;

/** Customers' profiles (seed 000): a customer account groups profiles, one of them primary. */
@ApiTags('customers')
@Controller('api/v1/customers/:customer/profiles')
export class CustomerProfileWritesController {
  constructor(
    private readonly answers: ProfileWriteAnswers,
    private readonly tenants: TenantRepository,
    private readonly rateLimiter: TenantRateLimiter,
  ) {}

  @Post()
  @Access('private')
  @ApiOperation({ summary: 'Create a customer\'s profile', description: 'As POST /api/v1/profiles, owned by the customer; `is_primary` beside `attributes`.' })
  @ApiParam(CUSTOMER_PARAM)
  @ApiBody({ type: CustomerProfileWriteDto })
  @ApiResponse({ status: 201, description: 'Created and applied: the profile (with `customer` and `is_primary`)', type: ProfileDto, headers: LOCATION_HEADER })
  @ApiResponse(PENDING)
  @ApiProblemResponses(400, 401, 403, 404, 409, 422, 429, 503)
  async create(@Param('customer') customer: string, @Body() body: unknown, @Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    noQueryParameters(query);
    customerParam(customer);
    const tenant = await rateLimitedTenant(this.rateLimiter, request);
    const rules = await bodyRulesOf(this.tenants, tenant);
    const { contacts, ...fields } = bodyOrProblem(parseProfileBody(body, rules, { mode: 'create', route: 'customers' }));
    const { attributes, rest } = foldContacts(fields.attributes, contacts, normaliserOf(rules));
    const command = { op: 'create' as const, tenant, ...fields, attributes, customer };
    return sendAnswer(reply, await this.answers.profileWrite(command, rest, { created: true, locationOf: (id) => customerProfilePath(customer, id) }));
  }

  @Put(':id')
  @Access('private')
  @ApiOperation({ summary: 'Replace a customer\'s profile', description: 'As PUT /api/v1/profiles/{id}; 404 when the profile is not that customer\'s.' })
  @ApiParam(CUSTOMER_PARAM)
  @ApiParam(ID_PARAM)
  @ApiBody({ type: CustomerProfileWriteDto })
  @ApiResponse({ status: 200, description: 'Applied: the profile', type: ProfileDto })
  @ApiResponse(PENDING)
  @ApiProblemResponses(400, 401, 403, 404, 409, 422, 429, 503)
  async replace(@Param('customer') customer: string, @Param('id') id: string, @Body() body: unknown, @Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    noQueryParameters(query);
    const profileId = await this.customersProfile(customer, id, request);
    const tenant = request.principal!.tenant;
    const { contacts, ...fields } = bodyOrProblem(parseProfileBody(body, await bodyRulesOf(this.tenants, tenant), { mode: 'replace', route: 'customers', profileId }));
    const command = { op: 'replace' as const, tenant, profileId, ...fields, customer };
    return sendAnswer(reply, await this.answers.profileWrite(command, contacts, { created: false, locationOf: (pid) => customerProfilePath(customer, pid) }));
  }

  @Delete(':id')
  @HttpCode(204)
  @Access('private')
  @ApiOperation({ summary: 'Erase a customer\'s profile', description: 'The erasure of DESIGN §11; 404 when the profile is not that customer\'s.' })
  @ApiParam(CUSTOMER_PARAM)
  @ApiParam(ID_PARAM)
  @ApiResponse({ status: 204, description: 'Erased: the projection no longer holds the profile' })
  @ApiResponse(ERASURE_PENDING)
  @ApiProblemResponses(401, 403, 404, 429, 503)
  async erase(@Param('customer') customer: string, @Param('id') id: string, @Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    noQueryParameters(query);
    const profileId = await this.customersProfile(customer, id, request);
    return sendAnswer(reply, await this.answers.erase(request.principal!.tenant, profileId));
  }

  /** The profile id when the profile (or its survivor) belongs to `customer`; 404 otherwise, as for an unknown id. */
  private async customersProfile(customer: string, id: string, request: AuthenticatedRequest): Promise<string> {
    customerParam(customer);
    const profileId = profileIdParam(id);
    const tenant = await rateLimitedTenant(this.rateLimiter, request);
    const view = await this.answers.readProfile(tenant, profileId);
    if (view.customer !== customer) throw ProblemException.notFound(`customer ${customer} has no profile with id ${profileId}`);
    return view.id;
  }

}

function customerParam(customer: string): void {
  if (!CUSTOMER_ID_PATTERN.test(customer)) throw ProblemException.notFound(`no customer ${customer.slice(0, 80)}`);
}
