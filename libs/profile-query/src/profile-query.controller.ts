import { Controller, Get, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access, AuthenticatedRequest } from '@tessera/runtime';
import { ProfileLookupService } from './profile-lookup.service';
import { ApiProfileLookup } from './profile-query.dto';

/**
 * The look-up's Nest route: its `@Access`, OpenAPI description and place in the route table. GET
 * requests are answered by the lean route (profile-query.lean-route.ts) with the same guard, service
 * and filter before Nest's router runs; this handler serves what reaches it (HEAD, an app built
 * without the lean route).
 */
@ApiTags('profiles (v3)')
@Controller('v3/profiles')
export class ProfileQueryController {
  constructor(private readonly lookups: ProfileLookupService) {}

  /** Look-up by exactly one identifier, normalised as on ingest (DESIGN §3). */
  @Get()
  @Access('read')
  @ApiOperation({ summary: 'Look a profile up by one identifier (Zaius v3)' })
  @ApiProfileLookup()
  find(@Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest & { url: string }) {
    return this.lookups.find(request.principal!, query, request.url);
  }
}
