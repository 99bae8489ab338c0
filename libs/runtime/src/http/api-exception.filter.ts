import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { isPassingDatabaseError } from '@tessera/store';
import { ApiProblemException, ForbiddenApiKeyException, titleFor } from './api-problem.exception';

type Logger = { error(obj: object, msg: string): void };

/** Fastify's own errors (body parsing, limits) mapped to their status and a safe message. */
function fastifyStatus(error: { code?: string; statusCode?: number }): number | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 415;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 413;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 400;
    default:
      return error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : undefined;
  }
}

function fastifyMessage(error: { code?: string; message?: string }, status: number): string {
  if (status === 413) return 'Request body is larger than the limit';
  // fastify's own 415 names the type it got; the answer names the one to send.
  if (status === 415 && !/^Content-Type must be/.test(error.message ?? '')) return 'Content-Type must be application/json';
  return error.message ?? titleFor(status);
}

/** The one exception filter of every HTTP surface: documented error shapes, never a stack trace. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(private readonly logger?: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const timestamp = new Date().toISOString();
    if (exception instanceof ForbiddenApiKeyException) {
      reply.status(403).send({ message: 'Forbidden' });
      return;
    }
    if (exception instanceof ApiProblemException) {
      const status = exception.getStatus();
      for (const [k, v] of Object.entries(exception.headers)) reply.header(k, v);
      reply.status(status).send({ title: titleFor(status), status, timestamp, ...(exception.detail ? { detail: exception.detail } : {}) });
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === 403) {
        reply.status(403).send({ message: 'Forbidden' });
        return;
      }
      const message = status === 404 ? 'No such route' : status === 415 ? fastifyMessage(exception, 415) : exception.message;
      reply.status(status).send({ title: titleFor(status), status, timestamp, detail: { message } });
      return;
    }
    const error = exception as { code?: string; statusCode?: number; message?: string };
    const status = fastifyStatus(error);
    if (status) {
      reply.status(status).send({ title: titleFor(status), status, timestamp, detail: { message: fastifyMessage(error, status) } });
      return;
    }
    if (isPassingDatabaseError(exception)) {
      // The database is away or busy: a retriable condition, never a 500.
      reply.header('Retry-After', '5');
      reply.status(503).send({ title: titleFor(503), status: 503, timestamp });
      return;
    }
    this.logger?.error({ err: exception }, 'unhandled error');
    reply.status(500).send({ title: titleFor(500), status: 500, timestamp });
  }
}
