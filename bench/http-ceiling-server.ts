/**
 * Ceiling H of the ingest benchmark: a bare Fastify route in one node process — the same process
 * setup as the single-node server — that parses the JSON body (Fastify's own parser, same body limit)
 * and answers 202 with the body Tessera answers. No auth, validation, log or database.
 *
 *   node dist/bench/http-ceiling-server.js   (PORT from the environment, 0 = any; prints "listening <url>")
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fastify = require('fastify') as (opts: Record<string, unknown>) => {
  post(path: string, handler: (request: { body: unknown }, reply: { code(n: number): { send(b: unknown): unknown } }) => unknown): void;
  get(path: string, handler: (request: { query: unknown }, reply: { code(n: number): { send(b: unknown): unknown } }) => unknown): void;
  listen(opts: { port: number; host: string }): Promise<string>;
};

async function main(): Promise<void> {
  const app = fastify({ bodyLimit: Number(process.env.TESSERA_BODY_LIMIT ?? 4 * 1024 * 1024), keepAliveTimeout: 65_000 });
  let items = 0;
  app.post('/v3/profiles', async (request, reply) => {
    if (Array.isArray(request.body)) items += request.body.length;
    return reply.code(202).send({ title: 'Accepted', status: 202, timestamp: new Date().toISOString() });
  });
  // For one-off comparisons with GET /v3/profiles (not part of the bench's ceilings): a canned profile.
  const profile = {
    attributes: { email: 'p.0000001@example.com', first_name: 'Olivia', last_name: 'Smith', city: 'Boston', country: 'US', plan: 'pro', orders: 3, zaius_id: '0190f3e2-8b4a-5f5e-9c7d-2a1b3c4d5e6f' },
    identifiers: { email: ['p.0000001@example.com'], vuid: ['p-1a2b3c4d-1'] },
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
  };
  app.get('/v3/profiles', async (_request, reply) => reply.code(200).send(profile));
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
