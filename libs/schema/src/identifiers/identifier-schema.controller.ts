import { Body, Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { Access, AuthenticatedRequest, TenantRateLimiter } from '@tessera/runtime';
import { answerSchema } from '../schema-problem';
import { SchemaService } from '../schema.service';

/** `POST|GET /v3/schema/identifiers` (DESIGN §10): custom identifier types, ODP shapes. */
@Controller('v3/schema/identifiers')
export class IdentifierSchemaController {
  constructor(
    private readonly schema: SchemaService,
    private readonly rateLimiter: TenantRateLimiter,
  ) {}

  @Post()
  @HttpCode(201)
  @Access('private')
  async create(@Body() body: unknown, @Req() request: AuthenticatedRequest) {
    const tenant = request.principal!.tenant;
    await this.rateLimiter.take(tenant, 1);
    return answerSchema(this.schema.addIdentifier(tenant, body));
  }

  @Get()
  @Access('read')
  async list(@Req() request: AuthenticatedRequest) {
    const tenant = request.principal!.tenant;
    await this.rateLimiter.take(tenant, 1);
    return answerSchema(this.schema.listIdentifiers(tenant));
  }
}
