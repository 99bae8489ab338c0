import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { Access, AuthenticatedRequest, TenantRateLimiter } from '@tessera/runtime';
import { answerSchema } from '../schema-problem';
import { SchemaService } from '../schema.service';

/** `POST|GET /v3/schema/objects/customers/fields[/{name}]` (DESIGN §10): declared customer fields, checked on ingest. */
@Controller('v3/schema/objects/customers/fields')
export class CustomerFieldsController {
  constructor(
    private readonly schema: SchemaService,
    private readonly rateLimiter: TenantRateLimiter,
  ) {}

  @Post()
  @HttpCode(200)
  @Access('private')
  async create(@Body() body: unknown, @Req() request: AuthenticatedRequest) {
    const tenant = request.principal!.tenant;
    await this.rateLimiter.take(tenant, 1);
    return answerSchema(this.schema.addField(tenant, body));
  }

  @Get()
  @Access('read')
  async list(@Req() request: AuthenticatedRequest) {
    const tenant = request.principal!.tenant;
    await this.rateLimiter.take(tenant, 1);
    return answerSchema(this.schema.listFields(tenant));
  }

  @Get(':name')
  @Access('read')
  async one(@Param('name') name: string, @Req() request: AuthenticatedRequest) {
    const tenant = request.principal!.tenant;
    await this.rateLimiter.take(tenant, 1);
    return answerSchema(this.schema.field(tenant, name));
  }
}
