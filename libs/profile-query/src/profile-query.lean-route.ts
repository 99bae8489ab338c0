import { Injectable, OnModuleInit } from '@nestjs/common';
import { LeanRoutes } from '@tessera/runtime';
import { ProfileLookupService } from './profile-lookup.service';
import { ProfileQueryController } from './profile-query.controller';

/**
 * `GET /v3/profiles` without Nest's per-request pipeline (issue 12): the API-key guard with the
 * controller's `@Access('read')`, the same service, the same global filter for every error. The
 * Nest route stays registered, so OpenAPI, the route table and HEAD are unchanged.
 */
@Injectable()
export class ProfileQueryLeanRoute implements OnModuleInit {
  constructor(
    private readonly lookups: ProfileLookupService,
    private readonly leanRoutes: LeanRoutes,
  ) {}

  onModuleInit(): void {
    this.leanRoutes.serve({
      method: 'GET',
      path: '/v3/profiles',
      controller: ProfileQueryController,
      handler: 'find',
      handle: (request) => this.lookups.find(request.principal!, request.query as Record<string, unknown>, request.url),
    });
  }
}
