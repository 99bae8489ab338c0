import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Access, ApiZaiusErrorResponse, ApiZaiusForbiddenResponse, AuthenticatedRequest, TenantRateLimiter } from '@tessera/runtime';
import { ApiSchemaBadRequest, CustomerFieldDto, CustomerFieldListDto, CustomerFieldRequestDto } from '../schema.dto';
import { answerSchema } from '../schema-problem';
import { SchemaService } from '../schema.service';

/** `POST|GET /v3/schema/objects/customers/fields[/{name}]` (DESIGN §10): declared customer fields, checked on ingest. */
@ApiTags('schema (v3)')
@Controller('v3/schema/objects/customers/fields')
export class CustomerFieldsController {
  constructor(
    private readonly schema: SchemaService,
    private readonly rateLimiter: TenantRateLimiter,
  ) {}

  @Post()
  @HttpCode(200)
  @Access('private')
  @ApiOperation({ summary: 'Declare a customer field (validated on ingest)' })
  @ApiBody({ type: CustomerFieldRequestDto })
  @ApiOkResponse({ type: CustomerFieldDto, description: 'The declared field, echoed' })
  @ApiSchemaBadRequest('name')
  async create(@Body() body: unknown, @Req() request: AuthenticatedRequest) {
    const tenant = request.principal!.tenant;
    await this.rateLimiter.take(tenant, 1);
    return answerSchema(this.schema.addField(tenant, body));
  }

  @Get()
  @Access('read')
  @ApiOperation({ summary: 'List the declared customer fields' })
  @ApiOkResponse({ type: CustomerFieldListDto })
  @ApiZaiusForbiddenResponse()
  @ApiZaiusErrorResponse(429)
  async list(@Req() request: AuthenticatedRequest) {
    const tenant = request.principal!.tenant;
    await this.rateLimiter.take(tenant, 1);
    return answerSchema(this.schema.listFields(tenant));
  }

  @Get(':name')
  @Access('read')
  @ApiOperation({ summary: 'One declared customer field' })
  @ApiParam({ name: 'name', description: 'The field name', example: 'loyalty_points' })
  @ApiOkResponse({ type: CustomerFieldDto })
  @ApiZaiusErrorResponse(404, 'No such field', 'Unable to find field loyalty_points on object customers')
  @ApiZaiusForbiddenResponse()
  @ApiZaiusErrorResponse(429)
  async one(@Param('name') name: string, @Req() request: AuthenticatedRequest) {
    const tenant = request.principal!.tenant;
    await this.rateLimiter.take(tenant, 1);
    return answerSchema(this.schema.field(tenant, name));
  }
}
