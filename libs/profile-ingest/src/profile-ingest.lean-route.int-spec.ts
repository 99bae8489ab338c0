// Issue 12: POST /v3/profiles and POST /v3/events served from a Fastify hook (IngestLeanRoutes) answer exactly as
// the Nest routes do — good and bad batches, body-parser refusals, keys, rate limit, Idempotency-Key —
// in the single-node app itself. The same request is sent with the lean route on and off (its switch).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadEnv, SingleNodeEnv } from '@tessera/config';
import { createHttpApp, createLogger, Infrastructure, startInfrastructure } from '@tessera/runtime';
import { TenantRepository } from '@tessera/store';
import { createTestDatabase, TestDatabase } from '@tessera/testing/database';
import { TesseraModule } from '../../../apps/tessera/src/tessera.module';
import { IngestLeanRoutes } from './profile-ingest.lean-route';

const BODY_LIMIT = 64 * 1024;

let db: TestDatabase;
let dataDir: string;
let infra: Infrastructure;
let app: NestFastifyApplication;
let fastify: FastifyInstance;
let lean: IngestLeanRoutes;
let tenants: TenantRepository;
const keys = { public: '', private: '', slow: '' };
/** Ingest requests that reached Nest's handler stage (the lean route had not answered). */
let reachedNest = 0;

beforeAll(async () => {
  db = await createTestDatabase('ingestlean');
  dataDir = mkdtempSync(join(tmpdir(), 'tessera-ingestlean-'));
  const env = loadEnv(SingleNodeEnv, { DATABASE_URL: db.url, TESSERA_DATA_DIR: dataDir, TESSERA_DB_POOL_SIZE: '4', LOG_LEVEL: 'silent', TESSERA_BODY_LIMIT: String(BODY_LIMIT) });
  const logger = createLogger('silent');
  infra = await startInfrastructure(env, logger);
  app = await createHttpApp(TesseraModule.register(infra, env), env, logger);
  await app.init();
  fastify = app.getHttpAdapter().getInstance();
  // Added after the lean route's hook: runs only for a request the lean route left to Nest.
  fastify.addHook('preHandler', async (request) => {
    if (request.method === 'POST' && (request.routeOptions.url === '/v3/profiles' || request.routeOptions.url === '/v3/events')) reachedNest++;
  });
  await fastify.ready();
  lean = app.get(IngestLeanRoutes);
  tenants = app.get(TenantRepository);
  await tenants.ensureTenant('lean');
  keys.public = await tenants.createApiKey('lean', 'public');
  keys.private = await tenants.createApiKey('lean', 'private');
  await tenants.ensureTenant('slow', 'slow', { rateLimit: { itemsPerSecond: 1, burst: 2 } });
  keys.slow = await tenants.createApiKey('slow', 'public');
});

afterAll(async () => {
  await app?.close();
  await infra?.close();
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Post {
  body?: string | Buffer;
  key?: string;
  headers?: Record<string, string>;
  /** Default `/v3/profiles`. */
  path?: '/v3/profiles' | '/v3/events';
}

/** The answer with its volatile parts (date header, timestamps) replaced; which path served it. */
async function post({ body, key, headers = {}, path = '/v3/profiles' }: Post, viaLean: boolean) {
  lean.enabled = viaLean;
  const before = reachedNest;
  const res = await fastify.inject({
    method: 'POST',
    url: path,
    payload: body,
    headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}), ...headers },
  });
  lean.enabled = true;
  const answer = { status: res.statusCode, headers: { ...res.headers } as Record<string, unknown>, body: res.body ? (JSON.parse(res.body.replace(/received at [0-9T:.Z-]+/g, 'received at <ISO>')) as Record<string, unknown>) : undefined };
  delete answer.headers.date;
  if (answer.body && typeof answer.body.timestamp === 'string') {
    expect(answer.body.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    answer.body.timestamp = '<ISO>';
  }
  return { ...answer, servedBy: reachedNest > before ? 'nest' : 'hook' };
}

/** Sends the request through the Nest route, then through the lean route; both answers, Nest's first. */
async function twin(request: Post | (() => Post)) {
  const make = typeof request === 'function' ? request : () => request;
  const nest = await post(make(), false);
  const viaLean = await post(make(), true);
  return { nest, lean: viaLean };
}

/** The same good request through both paths: 202 Accepted from each, the hook serving the lean one. */
async function expectAcceptedOnBoth(request: () => Post) {
  const { nest, lean: viaLean } = await twin(request);
  expect(nest.status).toBe(202);
  expect(nest.body).toEqual({ title: 'Accepted', status: 202, timestamp: '<ISO>' });
  expect(nest.servedBy).toBe('nest');
  expect(viaLean.servedBy).toBe('hook');
  expect({ ...viaLean, servedBy: 'nest' }).toEqual(nest);
}

const item = (n: number) => ({ attributes: { email: `p${n}.${process.pid}@example.com`, first_name: `P${n}`, ts: 1764723723 + n } });

describe('POST /v3/profiles on the lean route', () => {
  it.each([
    ['a batch, public key', () => ({ body: JSON.stringify([item(1), item(2)]), key: keys.public })],
    ['one object, private key', () => ({ body: JSON.stringify(item(3)), key: keys.private })],
    ['charset=utf-8', () => ({ body: JSON.stringify([item(4)]), key: keys.public, headers: { 'content-type': 'application/json; charset=utf-8' } })],
  ])('given a good body (%s), then 202 Accepted from the lean route, as from the Nest route', async (_, request) => {
    await expectAcceptedOnBoth(request);
  });

  it.each([
    ['invalid items', JSON.stringify([item(5), { attributes: { first_name: 'no identifier' } }, { attributes: { email: 'x@y.zz', Bad: 1 } }, { nope: 1 }]), 400],
    ['a nested object', JSON.stringify([{ attributes: { email: 'n@example.com', address: { city: 'x' } } }]), 400],
    ['an identifier of the wrong type', JSON.stringify({ attributes: { email: 42 } }), 400],
    ['a ts in the future', JSON.stringify({ attributes: { email: 'f@example.com', ts: Date.now() + 7_200_000 } }), 400],
    ['an empty array', '[]', 400],
    ['501 items', JSON.stringify(Array.from({ length: 501 }, (_, i) => ({ attributes: { vuid: `v${i}` } }))), 400],
    ['a number', '42', 400],
    ['null', 'null', 400],
    ['__proto__ and constructor', '{"attributes":{"email":"p@example.com","__proto__":{"x":1},"constructor":1}}', 400],
  ])('given a bad batch (%s), then the lean route refuses it exactly as Nest does', async (_, body, status) => {
    const { nest, lean: viaLean } = await twin({ body, key: keys.public });
    expect(nest.status).toBe(status);
    expect(viaLean.servedBy).toBe('hook');
    expect({ ...viaLean, servedBy: 'nest' }).toEqual(nest);
  });

  it.each([
    ['malformed JSON', { body: '{"attributes":' }, 400],
    ['an empty body', { body: '' }, 400],
    ['invalid UTF-8', { body: Buffer.from([0x7b, 0xff, 0x7d]) }, 400],
    ['text/plain', { body: '{}', headers: { 'content-type': 'text/plain' } }, 415],
    ['charset latin1', { body: '{}', headers: { 'content-type': 'application/json; charset=latin1' } }, 415],
    ['a body over the limit', { body: JSON.stringify({ attributes: { email: 'big@example.com', blob: 'x'.repeat(BODY_LIMIT) } }) }, 413],
  ])('given %s, then the body parser\'s refusal is the same on both paths (neither handler runs)', async (_, request, status) => {
    const { nest, lean: viaLean } = await twin({ ...request, key: keys.public });
    expect(nest.status).toBe(status);
    expect(viaLean).toEqual(nest);
  });

  it.each([
    ['no key', undefined],
    ['an unknown key', 'not-a-key'],
  ])('given %s, then 403 as from the Nest route', async (_, key) => {
    const { nest, lean: viaLean } = await twin({ body: JSON.stringify(item(6)), key });
    expect(nest.status).toBe(403);
    expect(nest.body).toEqual({ message: 'Forbidden' });
    expect({ ...viaLean, servedBy: 'nest' }).toEqual(nest);
  });

  it('given a tenant over its rate limit, then 429 with Retry-After as from the Nest route', async () => {
    const one = () => ({ body: JSON.stringify(item(7)), key: keys.slow });
    // Burst 2: two accepted, the third refused — on each path.
    const nest = [await post(one(), false), await post(one(), false), await post(one(), false)];
    await new Promise((r) => setTimeout(r, 2100)); // the bucket refills
    const viaLean = [await post(one(), true), await post(one(), true), await post(one(), true)];
    expect(nest.map((a) => a.status)).toEqual([202, 202, 429]);
    expect(nest[2].headers['retry-after']).toBeDefined();
    expect(viaLean.map((a) => a.servedBy)).toEqual(['hook', 'hook', 'hook']);
    expect(viaLean.map((a) => ({ ...a, servedBy: 'nest' }))).toEqual(nest);
  });

  it('given an Idempotency-Key, then the Nest route serves it (its interceptor keeps and replays the answer)', async () => {
    const key = `idem-${process.pid}`;
    const body = JSON.stringify([item(8)]);
    const first = await post({ body, key: keys.public, headers: { 'idempotency-key': key } }, true);
    const again = await post({ body, key: keys.public, headers: { 'idempotency-key': key } }, true);
    const other = await post({ body: JSON.stringify([item(9)]), key: keys.public, headers: { 'idempotency-key': key } }, true);
    const invalid = await post({ body, key: keys.public, headers: { 'idempotency-key': '' } }, true);
    expect([first, again, other, invalid].map((a) => a.servedBy)).toEqual(['nest', 'nest', 'nest', 'nest']);
    expect([first.status, again.status, other.status, invalid.status]).toEqual([202, 202, 422, 400]);
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('when served lean, then the ingest metrics count its requests and items under the route', async () => {
    const metric = async () => (await fastify.inject({ method: 'GET', url: '/metrics' })).body;
    const count = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
    const items = /^tessera_ingest_items_total\{[^}]*route="\/v3\/profiles"[^}]*\} (\d+)/m;
    const accepted = /^tessera_ingest_requests_total\{(?=[^}]*route="\/v3\/profiles")(?=[^}]*status="202")[^}]*\} (\d+)/m;
    const before = await metric();
    expect((await post({ body: JSON.stringify([item(10), item(11), item(12)]), key: keys.public }, true)).servedBy).toBe('hook');
    const after = await metric();
    expect(count(after, items) - count(before, items)).toBe(3);
    expect(count(after, accepted) - count(before, accepted)).toBe(1);
  });
});

const event = (n: number) => ({ type: 'order', action: 'purchase', identifiers: { email: `e${n}.${process.pid}@example.com` }, data: { order_id: `o${n}`, total: 9.5 } });

describe('POST /v3/events on the lean route', () => {
  it.each([
    ['a batch', () => ({ path: '/v3/events' as const, body: JSON.stringify([event(1), event(2)]), key: keys.public })],
    ['one object, private key', () => ({ path: '/v3/events' as const, body: JSON.stringify(event(3)), key: keys.private })],
  ])('given good events (%s), then 202 Accepted from the lean route, as from the Nest route', async (_, request) => {
    await expectAcceptedOnBoth(request);
  });

  it.each([
    ['no identifiers', JSON.stringify([event(4), { type: 'order', data: {} }])],
    ['no type', JSON.stringify([{ identifiers: { email: 'x@example.com' } }])],
    ['an empty array', '[]'],
    ['a number', '42'],
  ])('given bad events (%s), then the lean route refuses them exactly as Nest does', async (_, body) => {
    const { nest, lean: viaLean } = await twin({ path: '/v3/events', body, key: keys.public });
    expect(nest.status).toBe(400);
    expect(viaLean.servedBy).toBe('hook');
    expect({ ...viaLean, servedBy: 'nest' }).toEqual(nest);
  });

  it.each([
    ['malformed JSON', { body: '{"type":' }, 400],
    ['text/plain', { body: '{}', headers: { 'content-type': 'text/plain' } }, 415],
  ])("given %s, then the body parser's refusal is the same on both paths", async (_, request, status) => {
    const { nest, lean: viaLean } = await twin({ ...request, path: '/v3/events', key: keys.public });
    expect(nest.status).toBe(status);
    expect(viaLean).toEqual(nest);
  });

  it('given no key, then 403 as from the Nest route', async () => {
    const { nest, lean: viaLean } = await twin({ path: '/v3/events', body: JSON.stringify(event(5)) });
    expect(nest.status).toBe(403);
    expect({ ...viaLean, servedBy: 'nest' }).toEqual(nest);
  });

  it('given an Idempotency-Key, then the Nest route serves it and replays the answer', async () => {
    const key = `idem-events-${process.pid}`;
    const body = JSON.stringify([event(6)]);
    const first = await post({ path: '/v3/events', body, key: keys.public, headers: { 'idempotency-key': key } }, true);
    const again = await post({ path: '/v3/events', body, key: keys.public, headers: { 'idempotency-key': key } }, true);
    expect([first.servedBy, again.servedBy]).toEqual(['nest', 'nest']);
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('when served lean, then the ingest metrics count its requests and items under the events route', async () => {
    const metric = async () => (await fastify.inject({ method: 'GET', url: '/metrics' })).body;
    const count = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
    const items = /^tessera_ingest_items_total\{[^}]*route="\/v3\/events"[^}]*\} (\d+)/m;
    const before = await metric();
    expect((await post({ path: '/v3/events', body: JSON.stringify([event(7), event(8)]), key: keys.public }, true)).servedBy).toBe('hook');
    expect(count(await metric(), items) - count(before, items)).toBe(2);
  });
});
