import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { isPassingDatabaseError } from '@tessera/store';
import { ApiProblemException, ForbiddenApiKeyException, titleFor } from './api-problem.exception';
import { fastifyMessage, fastifyStatus } from './fastify-errors';
import { isNativeApiPath } from './native-api';
import { ProblemJsonFilter } from './problem-json.filter';

type Logger = { error(obj: object, msg: string): void };

/**
 * The global exception filter: documented error shapes, never a stack trace. One filter per HTTP
 * surface — the native API (`/api/v1`, problem+json, DESIGN §12) has its own, chosen here by path so
 * that errors raised before any controller (router 404, body parser, guard) get it too; everything
 * else answers in Zaius's shapes (DESIGN §3).
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly nativeApi: ProblemJsonFilter;

  constructor(private readonly logger?: Logger) {
    this.nativeApi = new ProblemJsonFilter(logger);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    if (isNativeApiPath(host.switchToHttp().getRequest<{ url?: string }>()?.url)) return this.nativeApi.catch(exception, host);
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
