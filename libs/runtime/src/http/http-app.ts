import { DynamicModule, INestApplication, LogLevel, Module, Type } from '@nestjs/common';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { HttpEnv } from '@tessera/config';
import { TesseraLogger } from '../logger';
import { registerHttpMetrics } from '../metrics/http-metrics.hook';
import { TesseraMetrics } from '../metrics/tessera-metrics';
import { ApiExceptionFilter } from './api-exception.filter';
import { registerCors } from './cors';
import { isNativeApiPath, requestPath } from './native-api';
import { buildOpenApiDocument, OpenApiDocumentHolder, OpenApiModule } from './openapi';
import { PROBLEM_CONTENT_TYPE, problemBody } from './problem.exception';

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'same-origin',
};

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
/** Oversized uploads up to this size are drained so the 413 reaches the client; larger ones are cut off. */
const DRAIN_LIMIT = 64 * 1024 * 1024;

function parserError(statusCode: number, code: string, message: string): Error {
  return Object.assign(new Error(message), { statusCode, code });
}

export const NEST_LOG_LEVELS: LogLevel[] = ['error', 'warn'];

/** The root of every HTTP app: the app's own module plus `/openapi.json` and `/docs` (DESIGN §12). */
@Module({})
class HttpAppModule {}

function withOpenApi(module: Type<unknown> | DynamicModule): DynamicModule {
  return { module: HttpAppModule, imports: [module, OpenApiModule] };
}

/** The app's OpenAPI document comes from its own controllers (generated on first request, then kept). */
function publishOpenApiDocument(app: NestFastifyApplication, logger: TesseraLogger): void {
  app.get(OpenApiDocumentHolder).generateWith(() => buildOpenApiDocument(app), logger);
}

/**
 * The app's TesseraMetrics (CoreModule provides it); none in an app built without CoreModule. Looked
 * up in the container, not with app.get: a failed app.get exits the process (Nest's abortOnError).
 */
function metricsProvided(app: NestFastifyApplication): TesseraMetrics | undefined {
  for (const module of app.get(ModulesContainer).values()) {
    const instance: unknown = module.providers.get(TesseraMetrics)?.instance;
    if (instance instanceof TesseraMetrics) return instance;
  }
  return undefined;
}

/** A Nest app on Fastify with Tessera's body rules, error shapes and security headers. */
export async function createHttpApp(module: Type<unknown> | ReturnType<typeof Object>, env: HttpEnv, logger: TesseraLogger): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: env.TESSERA_BODY_LIMIT,
    // `__proto__` / `constructor` keys are reported by the validator with the item index instead.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    requestTimeout: 60_000,
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(withOpenApi(module as Type<unknown> | DynamicModule), adapter, {
    logger: NEST_LOG_LEVELS,
    bodyParser: false, // no form parser: fastify's own JSON parser only
  });
  const fastify = app.getHttpAdapter().getInstance();
  await registerCors(fastify, env, SECURITY_HEADERS); // first hook: CORS headers on every answer (413 too), preflights before any key check
  // Only JSON bodies, strictly UTF-8: anything else is 415, invalid bytes are 400 (never stored mangled).
  fastify.removeContentTypeParser(['text/plain', 'application/json']);
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(String(request.headers['content-type'] ?? ''))?.[1];
    if (charset && !/^utf-?8$/i.test(charset)) return done(parserError(415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE', `Content-Type must be application/json; charset=utf-8 (got charset ${charset})`));
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      return done(parserError(400, 'FST_ERR_CTP_INVALID_JSON_BODY', 'Request body is not valid UTF-8'));
    }
    if (text.trim() === '') return done(parserError(400, 'FST_ERR_CTP_EMPTY_JSON_BODY', 'Request body is empty; expected JSON'));
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(parserError(400, 'FST_ERR_CTP_INVALID_JSON_BODY', `Malformed JSON: ${(error as Error).message}`));
    }
  });
  // A declared body over the limit is answered 413 before reading it; the rest of the upload is then
  // read and discarded (up to a bound) so the client gets the answer instead of a reset connection.
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.headers(SECURITY_HEADERS); // set first, so every answer carries them (errors and 413 included)
    const length = Number(request.headers['content-length'] ?? 0);
    if (length <= env.TESSERA_BODY_LIMIT) return done();
    const respond = () => {
      if (reply.sent) return;
      const message = `Request body is larger than the limit of ${env.TESSERA_BODY_LIMIT} bytes`;
      // The native API's errors are problem+json (DESIGN §12); /v3 keeps the Zaius shape.
      if (isNativeApiPath(request.url)) return void reply.code(413).header('content-type', PROBLEM_CONTENT_TYPE).send(problemBody(413, message, requestPath(request.url)));
      reply.code(413).send({ title: 'Payload Too Large', status: 413, timestamp: new Date().toISOString(), detail: { message } });
    };
    if (length > DRAIN_LIMIT) {
      reply.header('connection', 'close');
      return respond();
    }
    // Read and discard the upload, then answer: a client still sending when the server closes the
    // connection sees a reset instead of the 413. A client that stalls gets the answer after 1 s.
    const timer = setTimeout(() => {
      reply.header('connection', 'close');
      respond();
    }, 1000);
    request.raw.once('end', () => {
      clearTimeout(timer);
      respond();
    });
    request.raw.once('error', () => clearTimeout(timer));
    request.raw.resume();
  });

  const metrics = metricsProvided(app);
  if (metrics) registerHttpMetrics(fastify, metrics); // every answer timed by method, route template and status
  app.useGlobalFilters(new ApiExceptionFilter({ error: (obj, msg) => logger.error(obj, msg) }));
  publishOpenApiDocument(app, logger);
  return app;
}

export async function listen(app: INestApplication, env: HttpEnv): Promise<string> {
  await app.listen(env.PORT, env.HOST);
  const url = await app.getUrl();
  return url.replace('[::1]', 'localhost').replace('127.0.0.1', 'localhost').replace('0.0.0.0', 'localhost');
}
