import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Access, ApiProblemResponse, ApiProblemResponses, ProblemException } from '@tessera/runtime';
import { ApiKeyView, CreatedApiKeyView, TenantAdminError, TenantView } from './tenant-admin.rules';
import { TenantAdminService } from './tenant-admin.service';
import { ApiKeyListDto, CreateApiKeyDto, CreatedApiKeyDto, CreateTenantDto, TenantDto, TenantListDto, UpdateTenantDto } from './tenants.dto';

/** The service's refusals as the native API's problems (DESIGN §12). */
async function answering<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof TenantAdminError) throw new ProblemException(error.status, error.detail, error.errors ? { errors: error.errors } : {});
    throw error;
  }
}

const TENANT_PARAM = { name: 'tenant', description: 'The tenant name', example: 'acme' };

/**
 * Tenants and keys (DESIGN §12, seed 004), for the operator: the admin key only (`TESSERA_ADMIN_KEY`,
 * Bearer or x-api-key); a tenant's key, whatever its kind, is answered 403.
 */
@ApiTags('tenants')
@ApiProblemResponses(401, 403)
@Controller('api/v1/tenants')
@Access('admin')
export class TenantsController {
  constructor(private readonly admin: TenantAdminService) {}

  @Get()
  @ApiOperation({ summary: 'List tenants' })
  @ApiResponse({ status: 200, type: TenantListDto })
  async list(): Promise<{ tenants: TenantView[] }> {
    return { tenants: await this.admin.listTenants() };
  }

  @Post()
  @ApiOperation({ summary: 'Create a tenant' })
  @ApiBody({ type: CreateTenantDto })
  @ApiResponse({ status: 201, type: TenantDto, description: 'Created; `Location` names it' })
  @ApiProblemResponse(400, 'The name does not match ^[a-z][a-z0-9]+$ (or the body is not JSON)')
  @ApiProblemResponse(409, 'A tenant of that name exists')
  @ApiProblemResponse(422, 'The name is missing, or a field is unknown or invalid (`errors[]`)')
  async create(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply): Promise<TenantView> {
    const tenant = await answering(this.admin.createTenant(body));
    reply.header('Location', `/api/v1/tenants/${tenant.name}`);
    return tenant;
  }

  @Get(':tenant')
  @ApiOperation({ summary: 'Read a tenant and its settings' })
  @ApiParam(TENANT_PARAM)
  @ApiResponse({ status: 200, type: TenantDto })
  @ApiProblemResponse(404, 'No such tenant')
  async get(@Param('tenant') tenant: string): Promise<TenantView> {
    return answering(this.admin.getTenant(tenant));
  }

  @Patch(':tenant')
  @ApiOperation({ summary: 'Change tenant settings: default_region (phones) and rate_limit; null clears one' })
  @ApiParam(TENANT_PARAM)
  @ApiBody({ type: UpdateTenantDto })
  @ApiResponse({ status: 200, type: TenantDto, description: 'The tenant as changed (applies in every process within 5 s)' })
  @ApiProblemResponses(404, 422)
  async update(@Param('tenant') tenant: string, @Body() body: unknown): Promise<TenantView> {
    return answering(this.admin.updateTenant(tenant, body));
  }

  @Post(':tenant/keys')
  @ApiOperation({ summary: 'Create an API key (public, read or private; optionally restricted); the key is shown once' })
  @ApiParam(TENANT_PARAM)
  @ApiBody({ type: CreateApiKeyDto })
  @ApiResponse({ status: 201, type: CreatedApiKeyDto })
  @ApiProblemResponses(404, 422)
  async createKey(@Param('tenant') tenant: string, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply): Promise<CreatedApiKeyView> {
    const created = await answering(this.admin.createKey(tenant, body));
    reply.header('Cache-Control', 'no-store'); // the only answer that carries the key
    return created;
  }

  @Get(':tenant/keys')
  @ApiOperation({ summary: "List the tenant's keys: prefixes, never the keys" })
  @ApiParam(TENANT_PARAM)
  @ApiResponse({ status: 200, type: ApiKeyListDto })
  @ApiProblemResponse(404, 'No such tenant')
  async listKeys(@Param('tenant') tenant: string): Promise<{ keys: ApiKeyView[] }> {
    return { keys: await answering(this.admin.listKeys(tenant)) };
  }

  @Delete(':tenant/keys/:prefix')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a key by its prefix: refused at once by this process, by every process within 5 s' })
  @ApiParam(TENANT_PARAM)
  @ApiParam({ name: 'prefix', description: 'The prefix as listed', example: 'trk_Q3k9xZ1a' })
  @ApiResponse({ status: 204, description: 'Revoked' })
  @ApiProblemResponse(404, 'No such tenant, or no active key of the tenant has that prefix')
  @ApiProblemResponse(409, 'The prefix names several keys (only keys chosen by environment variable or made before prefixes were unique)')
  async revokeKey(@Param('tenant') tenant: string, @Param('prefix') prefix: string): Promise<void> {
    await answering(this.admin.revokeKey(tenant, prefix));
  }
}
