// Issue 8 item 7: the API-key guard fails closed (a route without a declared access policy is refused),
// and /health/ready answers a status only, whatever the caller and whatever failed.
import { Body, Controller, Get, HttpCode, Module, Options, Post, Query } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import type { HttpEnv } from '@tessera/config';
import { createDataSource, runMigrationsLocked, TenantRepository } from '@tessera/store';
import { createTestDatabase, TestDatabase } from '@tessera/testing/database';
import { HealthController } from '../health/health.controller';
import { ReadinessRegistry } from '../health/readiness.registry';
import { TesseraLogger } from '../logger';
import { LOGGER } from '../tokens';
import { Access, AccessPolicyAudit } from './access-policy';
import { ApiProblemException } from './api-problem.exception';
import { ProblemException } from './problem.exception';
import { ApiKeyGuard } from './api-key.guard';
import { createHttpApp } from './http-app';

@Controller('t')
class PoliciesController {
  @Get('open')
  @Access('none')
  open() {
    return { ok: true };
  }

  @Post('write')
  @Access('write')
  write() {
    return { ok: true };
  }

  @Get('read')
  @Access('read')
  read() {
    return { ok: true };
  }

  @Get('forgotten')
  forgotten() {
    return { secret: 'should never be served' };
  }
}

@Controller('c')
@Access('read')
class ControllerWidePolicyController {
  @Get()
  find() {
    return { ok: true };
  }
}

@Controller('t')
class PrivatePolicyController {
  @Post('private')
  @Access('private')
  privateWrite() {
    return { ok: true };
  }
}

/** A native-API (DESIGN §12) controller: its errors are problem+json. */
@Controller('api/v1/things')
class NativeThingsController {
  @Get()
  @Access('read')
  list(@Query('limit') limit?: string) {
    if (limit !== undefined && limit !== '1') throw ProblemException.badParameter('limit', 'must be 1');
    return { things: [] };
  }

  @Get('throttled')
  @Access('read')
  throttled() {
    throw new ApiProblemException(429, { message: 'rate limit exceeded' }, { 'Retry-After': '3' });
  }

  @Post()
  @Access('private')
  create(@Body() body: Record<string, unknown>) {
    const unknown = Object.keys(body).filter((k) => k !== 'name');
    if (unknown.length) throw ProblemException.validation(unknown.map((field) => ({ field, message: 'is not a field of a thing' })));
    return { ok: true };
  }

  // Stands in for a CORS plugin's preflight handler that runs behind the guard.
  @Options()
  @Access('private')
  @HttpCode(204)
  preflight() {
    return undefined;
  }
}

let db: TestDatabase;
let dataSource: DataSource;
let app: NestFastifyApplication;
let publicKey: string;
let privateKey: string;
let readKey: string;
let readinessFailure: Error | undefined;
const logged: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];

const logger = {
  error: (obj: Record<string, unknown>, msg: string) => logged.push({ level: 'error', obj, msg }),
  warn: (obj: Record<string, unknown>, msg: string) => logged.push({ level: 'warn', obj, msg }),
  info: (obj: Record<string, unknown>, msg: string) => logged.push({ level: 'info', obj, msg }),
} as unknown as TesseraLogger;

beforeAll(async () => {
  db = await createTestDatabase('guard');
  dataSource = createDataSource(db.url, 4);
  await dataSource.initialize();
  await runMigrationsLocked(dataSource);
  const tenants = new TenantRepository(dataSource);
  await tenants.ensureTenant('guard');
  publicKey = await tenants.createApiKey('guard', 'public');
  privateKey = await tenants.createApiKey('guard', 'private');
  readKey = await tenants.createApiKey('guard', 'read');
  const readiness = new ReadinessRegistry();
  readiness.register('database', () => dataSource.query('SELECT 1'));
  // A module's own readiness source, as the projector registers its stalled partitions.
  readiness.register('projector', () => {
    if (readinessFailure) throw readinessFailure;
  });

  @Module({
    controllers: [PoliciesController, PrivatePolicyController, ControllerWidePolicyController, NativeThingsController, HealthController],
    providers: [
      { provide: TenantRepository, useValue: tenants },
      { provide: LOGGER, useValue: logger },
      { provide: ReadinessRegistry, useValue: readiness },
      { provide: APP_GUARD, useClass: ApiKeyGuard },
      AccessPolicyAudit,
    ],
  })
  class TestModule {}

  const env = { TESSERA_BODY_LIMIT: 1024 * 1024 } as HttpEnv;
  app = await createHttpApp(TestModule, env, logger);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
});

afterAll(async () => {
  await app?.close();
  await dataSource.destroy();
  await db.drop();
});

async function call(method: 'GET' | 'POST', url: string, key?: string, extraHeaders: Record<string, string> = {}) {
  const r = await app.inject({ method, url, headers: { ...(key ? { 'x-api-key': key } : {}), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}), ...extraHeaders }, payload: method === 'POST' ? '{}' : undefined });
  return { status: r.statusCode, body: r.json() as Record<string, unknown>, headers: r.headers };
}

const keyOf = (kind: string | undefined) => (kind === 'public' ? publicKey : kind === 'private' ? privateKey : kind === 'read' ? readKey : kind);

describe('given a route that declares no access policy', () => {
  it('then start-up names it in the log (and only it)', () => {
    const audit = logged.filter((l) => l.level === 'error' && typeof l.obj.handler === 'string');
    expect(audit.map((l) => l.obj)).toEqual([{ route: 'GET /t/forgotten', handler: 'PoliciesController.forgotten' }]);
  });

  it('then it is refused with the documented 403, even with a private key, and the route is named in the log once', async () => {
    for (const key of [undefined, publicKey, privateKey, privateKey]) {
      expect(await call('GET', '/t/forgotten', key)).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
    }
    const reports = logged.filter((l) => l.level === 'error' && l.obj.route === 'PoliciesController.forgotten');
    expect(reports).toHaveLength(1);
  });
});

describe('given routes with declared policies', () => {
  it.each([
    ['none, no key', 'GET', '/t/open', undefined, 200],
    ['write, no key', 'POST', '/t/write', undefined, 403],
    ['write, unknown key', 'POST', '/t/write', 'tpk_unknown', 403],
    ['write, public key', 'POST', '/t/write', 'public', 201],
    ['write, private key', 'POST', '/t/write', 'private', 201],
    ['read, public key', 'GET', '/t/read', 'public', 403],
    ['read, private key', 'GET', '/t/read', 'private', 200],
    ['read on the controller, public key', 'GET', '/c', 'public', 403],
    ['read on the controller, private key', 'GET', '/c', 'private', 200],
    // DESIGN §12: a read key may call every GET (and nothing else); `private` admits private keys only.
    ['read, read key', 'GET', '/t/read', 'read', 200],
    ['read on the controller, read key', 'GET', '/c', 'read', 200],
    ['write, read key', 'POST', '/t/write', 'read', 403],
    ['private, private key', 'POST', '/t/private', 'private', 201],
    ['private, read key', 'POST', '/t/private', 'read', 403],
    ['private, public key', 'POST', '/t/private', 'public', 403],
    ['private, no key', 'POST', '/t/private', undefined, 403],
  ] as const)('when %s: %s %s (key: %s) answers %i', async (_what, method, url, key, status) => {
    expect((await call(method, url, keyOf(key))).status).toBe(status);
  });

  it('then /v3 keeps its one answer for every refusal: 403 {"message":"Forbidden"}, also for a Bearer key of the wrong kind', async () => {
    for (const [key, headers] of [[undefined, {}], ['tpk_unknown', {}], [undefined, { authorization: `Bearer ${publicKey}` }]] as const) {
      const r = await call('GET', '/t/read', key, headers);
      expect({ status: r.status, body: r.body }).toEqual({ status: 403, body: { message: 'Forbidden' } });
    }
    expect((await call('GET', '/t/read', undefined, { authorization: `Bearer ${readKey}` })).status).toBe(200);
  });
});

describe('given a native-API route (/api/v1, DESIGN §12)', () => {
  const problem = (status: number, instance: string) => ({
    type: expect.stringMatching(/^urn:tessera:problem:/),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    instance,
  });

  it.each([
    ['Bearer, read key', { authorization: 'read' }, 200],
    ['Bearer, private key', { authorization: 'private' }, 200],
    ['bearer in lower case', { authorization: 'private', scheme: 'bearer' }, 200],
    ['x-api-key, read key', { 'x-api-key': 'read' }, 200],
    ['x-api-key, public key', { 'x-api-key': 'public' }, 403],
    ['Bearer, public key', { authorization: 'public' }, 403],
    ['no key', {}, 401],
    ['unknown key', { 'x-api-key': 'tsk_unknown' }, 401],
    ['unknown Bearer key', { authorization: 'tsk_unknown' }, 401],
    ['Basic credentials', { authorization: 'basic' }, 401],
  ] as const)('when %s (%j), then GET answers %i', async (_what, given, status) => {
    const headers: Record<string, string> = {};
    if ('x-api-key' in given) headers['x-api-key'] = keyOf(given['x-api-key'])!;
    if ('authorization' in given) {
      headers.authorization = given.authorization === 'basic' ? 'Basic dXNlcjpwYXNz' : `${'scheme' in given ? given.scheme : 'Bearer'} ${keyOf(given.authorization)}`;
    }
    const r = await call('GET', '/api/v1/things', undefined, headers);
    expect(r.status).toBe(status);
    if (status === 200) return;
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.body).toEqual(problem(status, '/api/v1/things'));
    if (status === 401) expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('when a read key POSTs to a private route, then 403 problem+json; a private key passes', async () => {
    const refused = await call('POST', '/api/v1/things', readKey);
    expect({ status: refused.status, body: refused.body }).toEqual({ status: 403, body: { ...problem(403, '/api/v1/things'), title: 'Forbidden' } });
    expect((await call('POST', '/api/v1/things', privateKey)).status).toBe(201);
  });

  it('when a query parameter is bad, then 400 names it, and instance is the path without the query', async () => {
    const r = await call('GET', '/api/v1/things?limit=7', readKey);
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.body).toEqual({ ...problem(400, '/api/v1/things'), title: 'Bad Request' });
    expect(r.body.detail).toContain('`limit`');
  });

  it('when a body is invalid, then 422 problem+json with errors[] naming each field', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/things', headers: { 'x-api-key': privateKey, 'content-type': 'application/json' }, payload: '{"name":"x","colour":1,"size":2}' });
    expect(r.statusCode).toBe(422);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.json()).toEqual({
      ...problem(422, '/api/v1/things'),
      title: 'Unprocessable Entity',
      errors: [
        { field: 'colour', message: 'is not a field of a thing' },
        { field: 'size', message: 'is not a field of a thing' },
      ],
    });
  });

  it('when a shared service answers 429, then the native shape carries it with Retry-After', async () => {
    const r = await call('GET', '/api/v1/things/throttled', readKey);
    expect({ status: r.status, retryAfter: r.headers['retry-after'], body: r.body }).toEqual({
      status: 429,
      retryAfter: '3',
      body: { ...problem(429, '/api/v1/things/throttled'), detail: 'rate limit exceeded' },
    });
  });

  it('when the route does not exist under /api/v1, then 404 problem+json (with or without a key); outside it, Zaius shapes stay', async () => {
    for (const key of [undefined, privateKey]) {
      const r = await call('GET', '/api/v1/nothing/here?x=1', key);
      expect(r.status).toBe(404);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(r.body).toEqual(problem(404, '/api/v1/nothing/here'));
    }
    const v3 = await call('GET', '/v3/nothing', privateKey);
    expect(v3.status).toBe(404);
    expect(v3.headers['content-type']).toMatch(/^application\/json/);
    expect(v3.body).toMatchObject({ title: 'Not Found', status: 404, detail: { message: 'No such route' } });
  });

  it('when the body is malformed JSON, then 400 problem+json', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/things', headers: { 'x-api-key': privateKey, 'content-type': 'application/json' }, payload: '{"a":' });
    expect(r.statusCode).toBe(400);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.json()).toEqual(problem(400, '/api/v1/things'));
  });

  it('when the declared body is over the limit, then 413 problem+json (and /v3 keeps the Zaius 413)', async () => {
    const payload = `{"a":"${'x'.repeat(1024 * 1024 + 10)}"}`;
    const r = await app.inject({ method: 'POST', url: '/api/v1/things?x=1', headers: { 'x-api-key': privateKey, 'content-type': 'application/json' }, payload });
    expect(r.statusCode).toBe(413);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.json()).toEqual({ ...problem(413, '/api/v1/things'), title: 'Payload Too Large' });
    const v3 = await app.inject({ method: 'POST', url: '/t/write', headers: { 'x-api-key': privateKey, 'content-type': 'application/json' }, payload });
    expect(v3.statusCode).toBe(413);
    expect(v3.json()).toMatchObject({ title: 'Payload Too Large', status: 413, detail: { message: expect.any(String) } });
  });

  it('when a CORS preflight OPTIONS arrives without a key, then the guard does not refuse it', async () => {
    const r = await app.inject({ method: 'OPTIONS', url: '/api/v1/things', headers: { origin: 'https://example.com', 'access-control-request-method': 'GET' } });
    expect(r.statusCode).toBe(204);
  });
});

describe('given /health/ready', () => {
  it('when every check passes, then it answers the status only', async () => {
    readinessFailure = undefined;
    for (const key of [undefined, privateKey]) {
      const r = await call('GET', '/health/ready', key);
      expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: { status: 'ok' } });
    }
  });

  it('when a registered check fails, then it answers 503 with the status only, and the reason goes to the log', async () => {
    readinessFailure = new Error('connect ECONNREFUSED 10.1.2.3:5432 for user "tessera"');
    for (const key of [undefined, publicKey, privateKey]) {
      const r = await call('GET', '/health/ready', key);
      expect({ status: r.status, body: r.body, retryAfter: r.headers['retry-after'] }).toEqual({ status: 503, body: { status: 'unavailable' }, retryAfter: '5' });
    }
    const warnings = logged.filter((l) => l.level === 'warn' && l.obj.check === 'projector');
    expect(warnings).toHaveLength(1); // once per change, not per probe
    expect(String(warnings[0].obj.result)).toContain('ECONNREFUSED 10.1.2.3:5432');
    readinessFailure = undefined;
    expect((await call('GET', '/health/ready')).status).toBe(200);
    expect(logged.filter((l) => l.level === 'info' && l.obj.check === 'projector')).toHaveLength(1);
  });

  it('when a check hangs, then readiness answers 503 within its time bound', async () => {
    const readiness = app.get(ReadinessRegistry);
    let release: () => void = () => undefined;
    readiness.register('hangs', () => new Promise<void>((r) => (release = r)));
    const started = Date.now();
    const r = await call('GET', '/health/ready');
    release();
    expect(r).toMatchObject({ status: 503, body: { status: 'unavailable' } });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
