import { ArgumentsHost, CanActivate, ExceptionFilter, ExecutionContext, ForbiddenException, Inject, Injectable, Optional, Type } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TesseraLogger } from '../logger';
import { LOGGER } from '../tokens';
import { ApiExceptionFilter } from './api-exception.filter';
import { declaredAccess } from './access-policy';
import { ApiKeyGuard, type AuthenticatedRequest } from './api-key.guard';

export type LeanRequest = FastifyRequest & AuthenticatedRequest;

/**
 * A hot route served without Nest's per-request pipeline (issue 12: a look-up spends more CPU in the
 * router's guard/pipe/response chain than the query costs).
 */
export interface LeanRoute {
  method: 'GET' | 'POST';
  /** The path as Nest registers it (`/v3/profiles`): the Nest route stays registered — OpenAPI, the route table, HEAD. */
  path: string;
  /** The Nest route this serves: its declared access policy (`@Access`) is the one enforced here. */
  controller: Type<unknown>;
  handler: string;
  /** The work: the answer body (200, or the status it sets on `reply`), or throws what the Nest handler would throw. */
  handle(request: LeanRequest, reply: FastifyReply): Promise<unknown>;
  /**
   * The Fastify hook that serves it (default `onRequest`). A route that reads the body needs
   * `preHandler`: Fastify parses the body after `onRequest`, so parser refusals (400/413/415) stay Fastify's.
   */
  stage?: 'onRequest' | 'preHandler';
  /** False: this request is left to the Nest route (e.g. a header only Nest's interceptor handles). Default: every request. */
  serves?(request: FastifyRequest): boolean;
}

export interface LeanRouteChain {
  /** The app's API-key guard (the same class as the global one, so the same policy and refusals). */
  guard: CanActivate;
  /** The app's global exception filter (the same error shapes as every other route). */
  filter: ExceptionFilter;
}

/**
 * Serves `route` from an `onRequest` (or `preHandler`) hook added after the app's own (CORS, security headers, the
 * body limit), so every answer still carries their headers and the metrics hook times it under the
 * same route template. What Nest would run for the route, and no more: the guard with the route's
 * own handler and class (its `@Access`), the handler's work, the global filter for any error. Add it
 * before the server is ready (Fastify binds hooks to routes then), e.g. in `onModuleInit`.
 */
export function serveLeanRoute(fastify: FastifyInstance, route: LeanRoute, chain: LeanRouteChain): void {
  const handler = (route.controller.prototype as Record<string, unknown>)[route.handler];
  if (typeof handler !== 'function') throw new Error(`${route.controller.name}.${route.handler} is not a route handler`);
  const policy = declaredAccess(handler, route.controller);
  // Fails closed at start-up rather than per request: the lean path must never open what Nest refuses.
  if (!policy) throw new Error(`${route.controller.name}.${route.handler} declares no access policy (@Access)`);
  const getHandler = () => handler;
  const getClass = () => route.controller;
  const getType = () => 'http';

  const serves = route.serves;
  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== route.method || request.routeOptions.url !== route.path) return;
    if (serves && !serves(request)) return;
    const http = { getRequest: () => request, getResponse: () => reply, getNext: () => undefined };
    const switchToHttp = () => http;
    try {
      const context = { getType, getHandler, getClass, switchToHttp, getArgs: () => [request, reply], getArgByIndex: (i: number) => [request, reply][i] };
      // A guard answering false is Nest's ForbiddenException (the API-key guard throws its own refusals).
      if (!(await chain.guard.canActivate(context as unknown as ExecutionContext))) throw new ForbiddenException('Forbidden resource');
      const body = await route.handle(request as LeanRequest, reply);
      if (!reply.sent) reply.send(body);
    } catch (error) {
      if (!reply.sent) chain.filter.catch(error, { switchToHttp, getType, getArgs: () => [request, reply], getArgByIndex: (i: number) => [request, reply][i] } as unknown as ArgumentsHost);
    }
    return reply;
  };
  if (route.stage === 'preHandler') fastify.addHook('preHandler', serve);
  else fastify.addHook('onRequest', serve);
}

/**
 * What a feature needs to serve its hot route lean: the app's API-key guard, its Fastify instance and
 * logger (for the global filter's error shapes).
 */
@Injectable()
export class LeanRoutes {
  constructor(
    private readonly guard: ApiKeyGuard,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
    @Optional() @Inject(LOGGER) private readonly logger?: TesseraLogger,
  ) {}

  /**
   * Serves `route` on this app; call it from `onModuleInit`. Does nothing without an HTTP server (an
   * application context) or on another adapter: the Nest route then serves alone.
   */
  serve(route: LeanRoute): void {
    const fastify = this.adapterHost?.httpAdapter?.getInstance?.() as FastifyInstance | undefined;
    if (!fastify || typeof fastify.addHook !== 'function') return;
    const logger = this.logger;
    serveLeanRoute(fastify, route, { guard: this.guard, filter: new ApiExceptionFilter({ error: (obj, msg) => logger?.error(obj, msg) }) });
  }
}
