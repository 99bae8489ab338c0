import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access, AuthenticatedRequest, zaiusAccepted } from '@tessera/runtime';
import { ApiConsentFind, ApiConsentUpdate } from './consent.dto';
import { ConsentService, ConsentView } from './consent.service';

/** POST /v3/consent (public or private key): 202 only after the log acknowledged every item. */
@ApiTags('consent (v3)')
@Controller('v3/consent')
export class ConsentWriteController {
  constructor(private readonly consents: ConsentService) {}

  @Post()
  @HttpCode(202)
  @Access('write')
  @ApiOperation({ summary: 'Record consent given or withdrawn per identifier' })
  @ApiConsentUpdate()
  async update(@Body() body: unknown, @Req() request: AuthenticatedRequest) {
    await this.consents.accept(request.principal!.tenant, body);
    return zaiusAccepted();
  }
}

/** GET /v3/consent/{identifier_field_name}?id=<value> (read or private key). */
@ApiTags('consent (v3)')
@Controller('v3/consent')
export class ConsentReadController {
  constructor(private readonly consents: ConsentService) {}

  @Get(':identifier_field_name')
  @Access('read')
  @ApiOperation({ summary: 'Consent of one identifier' })
  @ApiConsentFind()
  find(@Param('identifier_field_name') type: string, @Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest & { url: string }): Promise<ConsentView> {
    return this.consents.find(request.principal!.tenant, type, query, request.url);
  }
}
