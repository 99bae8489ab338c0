import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import type { HttpEnv } from '@tessera/config';

/** Methods the API's routes use (the route itself still decides; a preflight only says what may be tried). */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
/** Answer headers a browser script may read besides the CORS-safelisted ones. */
const EXPOSED_HEADERS = ['Retry-After', 'Idempotent-Replayed', 'Location', 'X-Total-Count'];
/** How long a browser may reuse a preflight answer (Chrome caps it at 2 h). */
const PREFLIGHT_MAX_AGE_S = 7200;

/** The @fastify/cors options for `TESSERA_CORS_ORIGINS` (DESIGN §10: browser SDKs post cross-origin). */
export function corsOptions(origins: HttpEnv['corsOrigins']): FastifyCorsOptions {
  const allowed = origins === '*' ? undefined : new Set(origins);
  return {
    // `*` answers `Access-Control-Allow-Origin: *`; a list echoes an allowed Origin, and gives a
    // disallowed (or absent) one no CORS headers at all (its preflight is then a 404).
    origin: allowed ? (origin, callback) => callback(null, origin !== undefined && allowed.has(origin) ? origin : false) : '*',
    methods: METHODS,
    // allowedHeaders left unset: the preflight allows the headers the browser asks for (x-api-key,
    // authorization, content-type, idempotency-key, …). Keys travel in headers, never in cookies: no credentials mode.
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: PREFLIGHT_MAX_AGE_S,
    credentials: false,
    // An OPTIONS without Origin / Access-Control-Request-Method is answered like a preflight, not with a text/plain 400.
    strictPreflight: false,
  };
}

/**
 * CORS for every route. Registered before the body-limit hook so that its headers reach every answer
 * (a 413 included) and a preflight is answered before any API-key check (a preflight carries no key).
 * A preflight answer also carries `headers` (the app's security headers).
 */
export async function registerCors(fastify: FastifyInstance, env: Pick<HttpEnv, 'corsOrigins'>, headers: Record<string, string> = {}): Promise<void> {
  fastify.addHook('onRequest', (request, reply, done) => {
    if (request.method === 'OPTIONS') reply.headers(headers);
    done();
  });
  await fastify.register(fastifyCors, corsOptions(env.corsOrigins));
}
