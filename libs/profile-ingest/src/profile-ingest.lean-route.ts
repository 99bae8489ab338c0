import { Injectable, OnModuleInit, Type } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { IDEMPOTENCY_KEY_HEADER, LeanRoutes, zaiusAccepted } from '@tessera/runtime';
import { EventsController } from './events.controller';
import { ProfileIngestController } from './profile-ingest.controller';
import { ProfileIngestService } from './profile-ingest.service';

/**
 * `POST /v3/profiles` and `POST /v3/events` without Nest's per-request pipeline (issue 12): served from a
 * `preHandler` hook (after Fastify parsed the body, so malformed JSON, 413 and 415 are answered as before)
 * with the API-key guard and the controllers' `@Access('write')`, the same service (draining, rate limit,
 * validation, log deadline, metrics) and the same global filter. Nest's interceptor chain binds each step
 * with `AsyncResource.bind`, whose closures (node 20) keep every request's objects alive through scavenges;
 * the hook has none. A request carrying `Idempotency-Key` is left to the Nest route, whose interceptor keeps
 * and replays answers (its SQL claim costs more than the pipeline). The Nest routes stay registered:
 * OpenAPI, the route table, the twins they must equal.
 */
@Injectable()
export class IngestLeanRoutes implements OnModuleInit {
  /** Off: every request goes to the Nest routes (the twin test and the A/B measurement switch it). */
  enabled = true;

  constructor(
    private readonly ingest: ProfileIngestService,
    private readonly leanRoutes: LeanRoutes,
  ) {}

  onModuleInit(): void {
    this.serveIngest('/v3/profiles', ProfileIngestController, 'upsert', (tenant, body) => this.ingest.accept(tenant, body));
    this.serveIngest('/v3/events', EventsController, 'track', (tenant, body) => this.ingest.acceptEvents(tenant, body));
  }

  /** One ingest route on the hook, answering as its controller's handler does (202 and the same body). */
  private serveIngest(path: string, controller: Type<unknown>, handler: string, accept: (tenant: string, body: unknown) => Promise<number>): void {
    this.leanRoutes.serve({
      method: 'POST',
      path,
      controller,
      handler,
      stage: 'preHandler',
      serves: (request: FastifyRequest) => this.enabled && request.headers[IDEMPOTENCY_KEY_HEADER] === undefined,
      handle: async (request, reply) => {
        await accept(request.principal!.tenant, request.body);
        reply.code(202);
        return zaiusAccepted();
      },
    });
  }
}
