import { ArgumentsHost, HttpException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { isPassingDatabaseError } from '@tessera/store';
import { ApiProblemException, ForbiddenApiKeyException, titleFor } from './api-problem.exception';
import { fastifyMessage, fastifyStatus } from './fastify-errors';
import { requestPath } from './native-api';
import { PROBLEM_CONTENT_TYPE, ProblemException, problemBody, ProblemFieldError } from './problem.exception';

type Logger = { error(obj: object, msg: string): void };

/**
 * The exception filter of the native API (`/api/v1`, DESIGN §12): every error, whatever threw it
 * (the guard, a handler, a shared service such as the rate limiter, Fastify's parser, the router's
 * 404), as `application/problem+json` `{type, title, status, detail, instance[, errors]}`.
 */
export class ProblemJsonFilter {
  constructor(private readonly logger?: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<{ url?: string; method?: string }>();
    const instance = requestPath(request?.url);
    const send = (status: number, detail: string, extra: { errors?: ProblemFieldError[]; headers?: Record<string, string>; type?: string } = {}) => {
      for (const [k, v] of Object.entries(extra.headers ?? {})) reply.header(k, v);
      reply.status(status).header('content-type', PROBLEM_CONTENT_TYPE).send(problemBody(status, detail, instance, extra.errors, extra.type));
    };

    if (exception instanceof ForbiddenApiKeyException) {
      // 401 asks for (other) credentials; 403 says these credentials are not enough.
      if (exception.refusal === 'missing') return send(401, 'an API key is required: `Authorization: Bearer <key>` or `x-api-key: <key>`', { headers: { 'WWW-Authenticate': 'Bearer' } });
      if (exception.refusal === 'unknown') return send(401, 'the API key is unknown or revoked', { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
      return send(403, 'this API key may not call this route');
    }
    if (exception instanceof ProblemException) return send(exception.getStatus(), exception.detail, exception.extra);
    if (exception instanceof ApiProblemException) {
      // Shared services (e.g. the rate limiter) throw the Zaius-shaped exception: same status, native shape.
      const status = exception.getStatus();
      const detail = exception.detail;
      const text = !detail ? titleFor(status) : 'message' in detail ? detail.message : detail.invalids.map((i) => `[${i.event}]: ${i.message}`).join('; ');
      return send(status, text, { headers: exception.headers });
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === 404) return send(404, `no route ${request?.method ?? 'GET'} ${instance}`);
      if (status === 415) return send(415, fastifyMessage(exception, 415));
      return send(status, exception.message);
    }
    const error = exception as { code?: string; statusCode?: number; message?: string };
    const status = fastifyStatus(error);
    if (status) return send(status, fastifyMessage(error, status));
    if (isPassingDatabaseError(exception)) return send(503, 'the database is unavailable; retry later', { headers: { 'Retry-After': '5' } });
    this.logger?.error({ err: exception }, 'unhandled error');
    return send(500, 'internal error');
  }
}
