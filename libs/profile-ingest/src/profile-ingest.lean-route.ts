import { Injectable, OnModuleInit } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { IDEMPOTENCY_KEY_HEADER, LeanRoutes } from '@tessera/runtime';
import { ProfileIngestController } from './profile-ingest.controller';
import { ProfileIngestService } from './profile-ingest.service';

/**
 * `POST /v3/profiles` without Nest's per-request pipeline (issue 12): served from a `preHandler` hook
 * (after Fastify parsed the body, so malformed JSON, 413 and 415 are answered as before) with the
 * API-key guard and the controller's `@Access('write')`, the same service (draining, rate limit,
 * validation, log deadline, metrics) and the same global filter. A request carrying `Idempotency-Key`
 * is left to the Nest route, whose interceptor keeps and replays answers (its SQL claim costs more
 * than the pipeline). The Nest route stays registered: OpenAPI, the route table, the twin it must equal.
 */
@Injectable()
export class ProfileIngestLeanRoute implements OnModuleInit {
  /** Off: every request goes to the Nest route (the twin test and the A/B measurement switch it). */
  enabled = true;

  constructor(
    private readonly ingest: ProfileIngestService,
    private readonly leanRoutes: LeanRoutes,
  ) {}

  onModuleInit(): void {
    this.leanRoutes.serve({
      method: 'POST',
      path: '/v3/profiles',
      controller: ProfileIngestController,
      handler: 'upsert',
      stage: 'preHandler',
      serves: (request: FastifyRequest) => this.enabled && request.headers[IDEMPOTENCY_KEY_HEADER] === undefined,
      handle: async (request, reply) => {
        await this.ingest.accept(request.principal!.tenant, request.body);
        reply.code(202);
        return { title: 'Accepted', status: 202, timestamp: new Date().toISOString() };
      },
    });
  }
}
