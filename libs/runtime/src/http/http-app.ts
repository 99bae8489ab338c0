import { INestApplication, LogLevel, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { HttpEnv } from '@tessera/config';
import { TesseraLogger } from '../logger';
import { ApiExceptionFilter } from './api-exception.filter';

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'same-origin',
};

export const NEST_LOG_LEVELS: LogLevel[] = ['error', 'warn'];

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
  const app = await NestFactory.create<NestFastifyApplication>(module as Type<unknown>, adapter, {
    logger: NEST_LOG_LEVELS,
    bodyParser: false, // no form parser: fastify's own JSON parser only
  });
  const fastify = app.getHttpAdapter().getInstance();
  // Only JSON bodies: anything else is 415.
  fastify.removeContentTypeParser(['text/plain']);
  fastify.addHook('onSend', async (_request, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    return payload;
  });
  app.useGlobalFilters(new ApiExceptionFilter({ error: (obj, msg) => logger.error(obj, msg) }));
  return app;
}

export async function listen(app: INestApplication, env: HttpEnv): Promise<string> {
  await app.listen(env.PORT, env.HOST);
  const url = await app.getUrl();
  return url.replace('[::1]', 'localhost').replace('127.0.0.1', 'localhost').replace('0.0.0.0', 'localhost');
}
