// Issue 12: a hot route served from a Fastify hook instead of Nest's router answers exactly as the
// Nest route would — the same API-key policy (the controller's @Access), error shapes and headers.
import { Controller, Get, Injectable, Module, OnModuleInit, Query, Req } from '@nestjs/common';
import { APP_GUARD, HttpAdapterHost } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { DataSource } from 'typeorm';
import type { HttpEnv } from '@tessera/config';
import { createDataSource, runMigrationsLocked, TenantRepository } from '@tessera/store';
import { createTestDatabase, TestDatabase } from '@tessera/testing/database';
import { TesseraLogger } from '../logger';
import { LOGGER } from '../tokens';
import { Access } from './access-policy';
import { ApiExceptionFilter } from './api-exception.filter';
import { ApiKeyGuard, AuthenticatedRequest } from './api-key.guard';
import { ApiProblemException } from './api-problem.exception';
import { createHttpApp } from './http-app';
import { serveLeanRoute } from './lean-route';

const served: string[] = [];

/** The route's work, shared by the Nest handlers and the lean route (as ProfileLookupService is). */
function work(via: string, query: Record<string, unknown>, request: AuthenticatedRequest) {
  served.push(via);
  if (query.fail === '429') throw new ApiProblemException(429, { message: 'slow down' }, { 'Retry-After': '7' });
  if (query.fail === '404') throw new ApiProblemException(404, { message: 'Unable to find x' });
  if (query.fail === 'crash') throw new Error('boom');
  return { tenant: request.principal?.tenant, kind: request.principal?.kind };
}

@Controller('lean')
class LeanController {
  @Get()
  @Access('read')
  find(@Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest) {
    return work('nest', query, request);
  }

  @Get('undeclared')
  undeclared() {
    return {};
  }
}

/** The same route, left to Nest: what the lean route must answer like. */
@Controller('twin')
class TwinController {
  @Get()
  @Access('read')
  find(@Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest) {
    return work('twin', query, request);
  }
}

@Injectable()
class LeanRegistration implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly guard: ApiKeyGuard,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance() as FastifyInstance;
    serveLeanRoute(
      fastify,
      { method: 'GET', path: '/lean', controller: LeanController, handler: 'find', handle: async (request) => work('lean', request.query as Record<string, unknown>, request) },
      { guard: this.guard, filter: new ApiExceptionFilter() },
    );
  }
}

let db: TestDatabase;
let dataSource: DataSource;
let app: NestFastifyApplication;
let fastify: FastifyInstance;
let tenants: TenantRepository;
const keys: Record<'public' | 'private' | 'read', string> = { public: '', private: '', read: '' };

beforeAll(async () => {
  db = await createTestDatabase('lean');
  dataSource = createDataSource(db.url, 4);
  await dataSource.initialize();
  await runMigrationsLocked(dataSource);
  tenants = new TenantRepository(dataSource);
  await tenants.ensureTenant('lean');
  for (const kind of ['public', 'private', 'read'] as const) keys[kind] = await tenants.createApiKey('lean', kind);

  @Module({
    controllers: [LeanController, TwinController],
    providers: [
      { provide: TenantRepository, useValue: tenants },
      { provide: LOGGER, useValue: { error: () => undefined, warn: () => undefined } as unknown as TesseraLogger },
      { provide: APP_GUARD, useClass: ApiKeyGuard },
      ApiKeyGuard,
      LeanRegistration,
    ],
  })
  class TestModule {}

  app = await createHttpApp(TestModule, { TESSERA_BODY_LIMIT: 1024 * 1024, corsOrigins: '*' } as HttpEnv, { error: () => undefined } as unknown as TesseraLogger);
  await app.init();
  fastify = app.getHttpAdapter().getInstance();
  await fastify.ready();
});

afterAll(async () => {
  await app?.close();
  await dataSource.destroy();
  await db.drop();
});

beforeEach(() => {
  served.length = 0;
});

async function get(path: string, key?: string) {
  const res = await fastify.inject({ method: 'GET', url: path, headers: key ? { 'x-api-key': key } : {} });
  const headers = { ...res.headers };
  delete headers.date;
  const body = res.body ? (JSON.parse(res.body) as Record<string, unknown>) : undefined;
  if (body && typeof body.timestamp === 'string') body.timestamp = '<ISO>';
  return { status: res.statusCode, headers, body };
}

describe('serveLeanRoute', () => {
  it('given a key the route admits, when the route is called, then the lean handler answers (Nest never runs) with the principal set by the guard', async () => {
    const res = await get('/lean', keys.private);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ tenant: 'lean', kind: 'private' });
    expect(served).toEqual(['lean']);
    expect((await get('/lean', keys.read)).body).toEqual({ tenant: 'lean', kind: 'read' });
  });

  it.each([
    ['no key', undefined],
    ['a public key (the route is read)', 'public'],
    ['an unknown key', 'nonsense-key'],
  ])('given %s, when the route is called, then it answers what the Nest route answers (403) and the work never runs', async (_, key) => {
    const presented = key === 'public' ? keys.public : key;
    const lean = await get('/lean', presented);
    const twin = await get('/twin', presented);
    expect(lean.status).toBe(403);
    expect(lean).toEqual(twin);
    expect(served).toEqual([]);
  });

  it.each(['429', '404', 'crash'])('when the work throws (%s), then the status, headers and body are those of the Nest route', async (fail) => {
    const lean = await get(`/lean?fail=${fail}`, keys.private);
    const twin = await get(`/twin?fail=${fail}`, keys.private);
    expect(lean).toEqual(twin);
    expect(served).toEqual(['lean', 'twin']);
  });

  it('when it answers, then it carries the app\'s security and CORS headers like a Nest route', async () => {
    const lean = await get('/lean', keys.private);
    const twin = await get('/twin', keys.private);
    expect(lean.headers).toEqual(twin.headers);
    expect(lean.headers['x-content-type-options']).toBe('nosniff');
    expect(lean.headers['access-control-allow-origin']).toBe('*');
  });

  it('given a revoked key, when the route is called, then it is refused (the guard\'s key cache rules apply)', async () => {
    const key = await tenants.createApiKey('lean', 'private');
    expect((await get('/lean', key)).status).toBe(200);
    await tenants.revokeApiKey(key);
    expect(await get('/lean', key)).toEqual(await get('/twin', key));
    expect((await get('/lean', key)).status).toBe(403);
  });

  it('when another method reaches the path (HEAD), then Nest still serves it', async () => {
    const res = await fastify.inject({ method: 'HEAD', url: '/lean', headers: { 'x-api-key': keys.private } });
    expect(res.statusCode).toBe(200);
    expect(served).toEqual(['nest']);
  });

  it('given a handler without @Access, when it is registered, then registration fails (never an open route)', () => {
    expect(() =>
      serveLeanRoute(fastify, { method: 'GET', path: '/lean/undeclared', controller: LeanController, handler: 'undeclared', handle: async () => ({}) }, { guard: { canActivate: () => true }, filter: new ApiExceptionFilter() }),
    ).toThrow(/declares no access policy/);
  });
});
