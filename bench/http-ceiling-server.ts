/**
 * Ceilings H and QH of the benchmark: bare Fastify routes in one node process — the same process setup
 * as the single-node server — with none of Tessera's auth, validation, pipeline or log.
 *   POST /v3/profiles  parses the JSON body (Fastify's own parser, same body limit) and answers 202 with
 *                      the body Tessera answers (H).
 *   GET /v3/profiles?email=  with BENCH_LOOKUP_DATABASE_URL and BENCH_LOOKUP_TENANT: the look-up route's own
 *                      prepared statement (`ProfileQueryRepository.findByIdentifier`) on a pool of the
 *                      server's size, answered as a profile (200) or 404 (QH: what a look-up over HTTP can
 *                      reach on this machine). Without them: a canned profile, for one-off comparisons.
 *
 *   node dist/bench/http-ceiling-server.js   (PORT from the environment, 0 = any; prints "listening <url>")
 */
import { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { ProfileQueryRepository } from '../libs/store/src/repositories/profile-query.repository';
import { SERVER_POOL_SIZE } from './ceilings';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const fastify = require('fastify') as (opts: Record<string, unknown>) => {
  post(path: string, handler: (request: { body: unknown }, reply: { code(n: number): { send(b: unknown): unknown } }) => unknown): void;
  get(path: string, handler: (request: { query: Record<string, string | undefined> }, reply: { code(n: number): { send(b: unknown): unknown } }) => unknown): void;
  listen(opts: { port: number; host: string }): Promise<string>;
};

/** The look-up against the database when the bench gives one, else a canned profile. */
function lookUpRoute(): (query: Record<string, string | undefined>) => Promise<{ status: number; body: unknown }> {
  const url = process.env.BENCH_LOOKUP_DATABASE_URL;
  const tenant = process.env.BENCH_LOOKUP_TENANT;
  if (url && tenant) {
    const pool = new Pool({ connectionString: url, max: SERVER_POOL_SIZE, application_name: 'tessera-bench-ceiling-lookup-http' });
    pool.on('error', () => undefined);
    const repo = new ProfileQueryRepository({ driver: { master: pool } } as unknown as DataSource);
    return async (query) => {
      const found = query.email ? await repo.findByIdentifier(tenant, 'email', query.email) : null;
      if (!found) return { status: 404, body: { title: 'Not Found', status: 404, detail: 'no profile' } };
      return { status: 200, body: { attributes: { ...found.attributes, zaius_id: found.id }, identifiers: found.identifiers, created_at: found.createdAt, updated_at: found.updatedAt } };
    };
  }
  const profile = {
    attributes: { email: 'p.0000001@example.com', first_name: 'Olivia', last_name: 'Smith', city: 'Boston', country: 'US', plan: 'pro', orders: 3, zaius_id: '0190f3e2-8b4a-5f5e-9c7d-2a1b3c4d5e6f' },
    identifiers: { email: ['p.0000001@example.com'], vuid: ['p-1a2b3c4d-1'] },
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
  };
  return async () => ({ status: 200, body: profile });
}

async function main(): Promise<void> {
  const app = fastify({ bodyLimit: Number(process.env.TESSERA_BODY_LIMIT ?? 4 * 1024 * 1024), keepAliveTimeout: 65_000 });
  let items = 0;
  app.post('/v3/profiles', async (request, reply) => {
    if (Array.isArray(request.body)) items += request.body.length;
    return reply.code(202).send({ title: 'Accepted', status: 202, timestamp: new Date().toISOString() });
  });
  const lookUp = lookUpRoute();
  app.get('/v3/profiles', async (request, reply) => {
    const { status, body } = await lookUp(request.query);
    return reply.code(status).send(body);
  });
  const url = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
  process.stdout.write(`listening ${url}\n`);
  const stop = () => {
    process.stdout.write(`items ${items}\n`);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
