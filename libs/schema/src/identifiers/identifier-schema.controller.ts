import { Body, Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access, ApiZaiusErrorResponse, ApiZaiusForbiddenResponse, AuthenticatedRequest, TenantRateLimiter } from '@tessera/runtime';
import { ApiSchemaBadRequest, IdentifierCreatedDto, IdentifierDeclarationDto, IdentifierListDto } from '../schema.dto';
import { answerSchema } from '../schema-problem';
import { SchemaService } from '../schema.service';

/** `POST|GET /v3/schema/identifiers` (DESIGN §10): custom identifier types, ODP shapes. */
@ApiTags('schema (v3)')
@Controller('v3/schema/identifiers')
export class IdentifierSchemaController {
  constructor(
    private readonly schema: SchemaService,
    private readonly rateLimiter: TenantRateLimiter,
  ) {}

  @Post()
  @HttpCode(201)
  @Access('private')
  @ApiOperation({ summary: 'Declare a custom identifier type' })
  @ApiBody({ type: IdentifierDeclarationDto })
  @ApiCreatedResponse({ type: IdentifierCreatedDto, description: 'The type is declared; it applies to records accepted from now on' })
  @ApiSchemaBadRequest('customers.name')
  async create(@Body() body: unknown, @Req() request: AuthenticatedRequest) {
    const tenant = request.principal!.tenant;
    await this.rateLimiter.take(tenant, 1);
    return answerSchema(this.schema.addIdentifier(tenant, body));
  }

  @Get()
  @Access('read')
  @ApiOperation({ summary: 'List identifier types (built-in and custom)' })
  @ApiOkResponse({ type: IdentifierListDto })
  @ApiZaiusForbiddenResponse()
  @ApiZaiusErrorResponse(429)
  async list(@Req() request: AuthenticatedRequest) {
    const tenant = request.principal!.tenant;
    await this.rateLimiter.take(tenant, 1);
    return answerSchema(this.schema.listIdentifiers(tenant));
  }
}
