// Issue 8 item 7: the API-key guard fails closed, so every route must declare who may call it. This
// lists every route the single-node app registers — from Nest's controllers and from Fastify itself,
// so that no route escapes the list — with its access policy, and fails on a route without one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnv, SingleNodeEnv } from '@tessera/config';
import { createHttpApp, createLogger, Infrastructure, routeAccessTable, startInfrastructure } from '@tessera/runtime';
import { createTestDatabase, TestDatabase } from '@tessera/testing/database';
import { TesseraModule } from './tessera.module';

let db: TestDatabase;
let dataDir: string;
let infra: Infrastructure;

beforeAll(async () => {
  db = await createTestDatabase('routes');
  dataDir = mkdtempSync(join(tmpdir(), 'tessera-routes-'));
});

afterAll(async () => {
  await infra?.close();
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

it('every route of the single-node app declares an access policy, and the list is the reviewed one', async () => {
  const env = loadEnv(SingleNodeEnv, { DATABASE_URL: db.url, TESSERA_DATA_DIR: dataDir, TESSERA_DB_POOL_SIZE: '4', LOG_LEVEL: 'silent' });
  const logger = createLogger('silent');
  infra = await startInfrastructure(env, logger);
  const app = await createHttpApp(TesseraModule.register(infra, env), env, logger);
  const registered: string[] = [];
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => {
      for (const method of ([] as string[]).concat(route.method)) registered.push(`${method} ${route.url}`);
    });
  await app.init();
  try {
    const table = routeAccessTable(app);
    console.log(`routes of the single-node app:\n${table.map((r) => `  ${r.method.padEnd(6)} ${r.path.padEnd(16)} ${(r.access ?? 'NONE DECLARED').padEnd(14)} ${r.handler}`).join('\n')}`);
    expect(table.filter((r) => !r.access)).toEqual([]);
    // A new route is a security decision: add it here with its policy.
    expect(table.map((r) => `${r.method} ${r.path} ${r.access}`)).toEqual([
      'GET /api/v1/customers/:customer/profiles read',
      'POST /api/v1/customers/:customer/profiles private',
      'DELETE /api/v1/customers/:customer/profiles/:id private',
      'GET /api/v1/customers/:customer/profiles/:id read',
      'PUT /api/v1/customers/:customer/profiles/:id private',
      'GET /api/v1/profiles read',
      'POST /api/v1/profiles private',
      'DELETE /api/v1/profiles/:id private',
      'GET /api/v1/profiles/:id read',
      'PATCH /api/v1/profiles/:id private',
      'PUT /api/v1/profiles/:id private',
      'GET /api/v1/profiles/:id/contacts read',
      'POST /api/v1/profiles/:id/contacts private',
      'DELETE /api/v1/profiles/:id/contacts/:contact_id private',
      'GET /api/v1/profiles/:id/contacts/:contact_id read',
      'PATCH /api/v1/profiles/:id/contacts/:contact_id private',
      'PUT /api/v1/profiles/:id/contacts/:contact_id private',
      'GET /api/v1/profiles/:id/events read',
      'GET /api/v1/tenants admin',
      'POST /api/v1/tenants admin',
      'GET /api/v1/tenants/:tenant admin',
      'PATCH /api/v1/tenants/:tenant admin',
      'GET /api/v1/tenants/:tenant/keys admin',
      'POST /api/v1/tenants/:tenant/keys admin',
      'DELETE /api/v1/tenants/:tenant/keys/:prefix admin',
      'GET /docs none',
      'GET /docs/:file none',
      'GET /health/live none',
      'GET /health/ready none',
      'GET /metrics none',
      'GET /openapi.json none',
      'POST /v3/compliance/:regulation/delete private',
      'GET /v3/compliance/:regulation/status/:requestId read',
      'POST /v3/consent write',
      'GET /v3/consent/:identifier_field_name read',
      'POST /v3/events write',
      'GET /v3/profiles read',
      'POST /v3/profiles write',
      'GET /v3/schema/identifiers read',
      'POST /v3/schema/identifiers private',
      'GET /v3/schema/objects/customers/fields read',
      'POST /v3/schema/objects/customers/fields private',
      'GET /v3/schema/objects/customers/fields/:name read',
    ]);
    // Fastify serves nothing but these (and the HEAD it adds for each GET, which runs the GET's handler).
    const gets = new Set(table.filter((r) => r.method === 'GET').map((r) => r.path));
    const served = registered.filter((r) => !(r.startsWith('HEAD ') && gets.has(r.slice(5))));
    expect(served.sort()).toEqual(table.map((r) => `${r.method} ${r.path}`).sort());
  } finally {
    await app.close();
  }
});
