// Issue 8 item 7: the API-key guard fails closed (a route without a declared access policy is refused),
// and /health/ready answers a status only, whatever the caller and whatever failed.
import { Controller, Get, Module, Post } from '@nestjs/common';
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

let db: TestDatabase;
let dataSource: DataSource;
let app: NestFastifyApplication;
let publicKey: string;
let privateKey: string;
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
  const readiness = new ReadinessRegistry();
  readiness.register('database', () => dataSource.query('SELECT 1'));
  // A module's own readiness source, as the projector registers its stalled partitions.
  readiness.register('projector', () => {
    if (readinessFailure) throw readinessFailure;
  });

  @Module({
    controllers: [PoliciesController, ControllerWidePolicyController, HealthController],
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

async function call(method: 'GET' | 'POST', url: string, key?: string) {
  const r = await app.inject({ method, url, headers: { ...(key ? { 'x-api-key': key } : {}), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) }, payload: method === 'POST' ? '{}' : undefined });
  return { status: r.statusCode, body: r.json() as Record<string, unknown>, headers: r.headers };
}

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
  ] as const)('when %s: %s %s (key: %s) answers %i', async (_what, method, url, key, status) => {
    const presented = key === 'public' ? publicKey : key === 'private' ? privateKey : key;
    expect((await call(method, url, presented)).status).toBe(status);
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
