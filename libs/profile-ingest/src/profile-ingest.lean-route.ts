import { Injectable, OnModuleInit } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { IDEMPOTENCY_KEY_HEADER, LeanRoutes } from '@tessera/runtime';
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
    const serves = (request: FastifyRequest) => this.enabled && request.headers[IDEMPOTENCY_KEY_HEADER] === undefined;
    this.leanRoutes.serve({
      method: 'POST',
      path: '/v3/profiles',
      controller: ProfileIngestController,
      handler: 'upsert',
      stage: 'preHandler',
      serves,
      handle: async (request, reply) => {
        await this.ingest.accept(request.principal!.tenant, request.body);
        return accepted(reply);
      },
    });
    this.leanRoutes.serve({
      method: 'POST',
      path: '/v3/events',
      controller: EventsController,
      handler: 'track',
      stage: 'preHandler',
      serves,
      handle: async (request, reply) => {
        await this.ingest.acceptEvents(request.principal!.tenant, request.body);
        return accepted(reply);
      },
    });
  }
}

/** The controllers' 202 body. */
function accepted(reply: { code(status: number): unknown }) {
  reply.code(202);
  return { title: 'Accepted', status: 202, timestamp: new Date().toISOString() };
}
