// Issue 11 item 7: GET /openapi.json describes every route of the single-node app (DESIGN §12), is a
// sound OpenAPI 3.1 document, and every example in it validates against its schema. The routes are
// read from Nest (routeAccessTable), so a route added by anyone keeps this test honest both ways.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadEnv, SingleNodeEnv } from '@tessera/config';
import { ZAIUS_EXAMPLE_BODY } from '@tessera/contracts/profile-upserts/zaius-example.fixture';
import { createHttpApp, createLogger, Infrastructure, routeAccessTable, startInfrastructure, type RouteAccess } from '@tessera/runtime';
import { createTestDatabase, TestDatabase } from '@tessera/testing/database';
import { TesseraModule } from './tessera.module';
import { openApiPath, type OpenApiDocument } from '@tessera/runtime/http/openapi/openapi-document';
import { openApiProblems, operationsOf, parametersOf } from '@tessera/runtime/http/openapi/openapi-check';
import { documentedExamples, mediaExample, OpenApiSchemas } from '@tessera/runtime/http/openapi/openapi-examples';

let db: TestDatabase;
let dataDir: string;
let infra: Infrastructure;
let app: NestFastifyApplication;
let routes: RouteAccess[];
let document: OpenApiDocument;
let schemas: OpenApiSchemas;

beforeAll(async () => {
  db = await createTestDatabase('openapi');
  dataDir = mkdtempSync(join(tmpdir(), 'tessera-openapi-'));
  const env = loadEnv(SingleNodeEnv, { DATABASE_URL: db.url, TESSERA_DATA_DIR: dataDir, TESSERA_DB_POOL_SIZE: '4', LOG_LEVEL: 'silent' });
  const logger = createLogger('silent');
  infra = await startInfrastructure(env, logger);
  app = await createHttpApp(TesseraModule.register(infra, env), env, logger);
  await app.init();
  routes = routeAccessTable(app);
  const answer = await app.getHttpAdapter().getInstance().inject({ method: 'GET', url: '/openapi.json' });
  expect(answer.statusCode).toBe(200);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  document = answer.json();
  schemas = new OpenApiSchemas(document);
});

afterAll(async () => {
  await app?.close();
  await infra?.close();
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;
const operation = (method: string, path: string) => document.paths[path]?.[method] as Record<string, any>;

describe('given the single-node app, when /openapi.json is read', () => {
  it('then every registered route appears with its method, and every documented operation is a registered route', () => {
    const registered = routes.map((r) => key(r.method, openApiPath(r.path))).sort();
    const documented = operationsOf(document).map((o) => key(o.method, o.path)).sort();
    expect(registered.length).toBeGreaterThan(15);
    expect(documented.filter((d) => !registered.includes(d))).toEqual([]); // documented but not served
    expect(registered.filter((r) => !documented.includes(r))).toEqual([]); // served but not documented
  });

  it('then it is OpenAPI 3.1 (Tessera, the package version) and structurally sound: refs resolve, path parameters match, operation ids unique', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.info.title).toBe('Tessera');
    expect(document.info.version).toBe(require('../../../package.json').version);
    expect(openApiProblems(document)).toEqual([]);
    const ids = operationsOf(document).map((o) => o.operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('then every component schema is valid JSON Schema 2020-12 (strict: no unknown keyword, no nullable)', () => {
    expect(schemas.componentIssues).toEqual([]);
    expect(JSON.stringify(document)).not.toMatch(/"nullable":/);
    for (const { path, method, operation: op } of operationsOf(document)) {
      for (const [status, response] of Object.entries(op.responses as Record<string, any>)) {
        for (const [media, content] of Object.entries((response.content ?? {}) as Record<string, any>)) {
          expect([`${key(method, path)} ${status} ${media}`, schemas.validate(content.schema, undefined) && 'compiles']).toEqual([`${key(method, path)} ${status} ${media}`, 'compiles']);
        }
      }
    }
  });

  it('then every example (bodies, responses, parameters, headers, schema examples) validates against its schema', () => {
    const examples = documentedExamples(document);
    expect(examples.length).toBeGreaterThan(100);
    const failures = examples.map((e) => ({ where: e.where, errors: schemas.validate(e.schema, e.value) })).filter((f) => f.errors.length);
    expect(failures).toEqual([]);
  });

  it('then every JSON request body and response has an example (its own, or built from its schema\'s examples) that validates', () => {
    const missing: string[] = [];
    const invalid: Array<{ where: string; errors: string[] }> = [];
    for (const { path, method, operation: op } of operationsOf(document)) {
      const contents = [
        ...Object.entries(((op.requestBody as any)?.content ?? {}) as Record<string, unknown>).map(([media, c]) => [`${key(method, path)} body ${media}`, media, c] as const),
        ...Object.entries(op.responses as Record<string, any>).flatMap(([status, r]) => Object.entries((r.content ?? {}) as Record<string, unknown>).map(([media, c]) => [`${key(method, path)} ${status} ${media}`, media, c] as const)),
      ].filter(([, media]) => /json/.test(media));
      for (const [where, , content] of contents) {
        const example = mediaExample(document, content);
        if (!example) missing.push(where);
        else {
          const errors = schemas.validate((content as any).schema, example.value);
          if (errors.length) invalid.push({ where: `${where} (${example.from})`, errors });
        }
      }
    }
    expect(missing).toEqual([]);
    expect(invalid).toEqual([]);
  });

  it('then each operation\'s security follows its access policy: none → no key; otherwise x-api-key or Bearer', () => {
    expect(Object.keys(document.components.securitySchemes)).toEqual(['apiKey', 'bearer']);
    expect(document.components.securitySchemes.apiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'x-api-key' });
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const route of routes) {
      const op = operation(route.method.toLowerCase(), openApiPath(route.path));
      expect([key(route.method, route.path), op['x-access-policy']]).toEqual([key(route.method, route.path), route.access]);
      expect([key(route.method, route.path), op.security]).toEqual([key(route.method, route.path), route.access === 'none' ? [] : [{ apiKey: [] }, { bearer: [] }]]);
    }
    for (const open of ['/openapi.json', '/docs', '/health/live', '/health/ready']) expect(operation('get', open).security).toEqual([]);
  });

  it('then path parameters of /api/v1 carry the names of DESIGN §12, and every operation has a summary and a tag', () => {
    const section12 = ['id', 'contact_id', 'customer', 'tenant', 'prefix'];
    for (const { path, method, operation: op } of operationsOf(document)) {
      const names = parametersOf(document, path, op).filter((p) => p.in === 'path').map((p) => p.name);
      if (path.startsWith('/api/v1/')) expect([key(method, path), names.filter((n) => !section12.includes(String(n)))]).toEqual([key(method, path), []]);
      expect([key(method, path), typeof op.summary, ((op.tags as string[] | undefined)?.length ?? 0) > 0]).toEqual([key(method, path), 'string', true]);
    }
    const tagNames = (document.tags ?? []).map((t) => t.name);
    const usedTags = new Set(operationsOf(document).flatMap((o) => (o.operation.tags as string[]) ?? []));
    expect([...usedTags].filter((t) => !tagNames.includes(t))).toEqual([]);
    expect(tagNames.slice(0, 2)).toEqual(['profiles (v3)', 'events (v3)']);
    expect(document.paths['/v3/compliance/{regulation}/status/{requestId}']).toBeDefined();
    expect(document.paths['/v3/consent/{identifier_field_name}']).toBeDefined();
  });
});

describe('given the /v3 operations, when their schemas are applied to DESIGN §3/§10 bodies', () => {
  const bodySchema = (path: string) => operation('post', path).requestBody.content['application/json'].schema;

  it('then POST /v3/profiles takes one object or an array of 1–500 `{attributes}` items, and refuses what §3 refuses', () => {
    const schema = bodySchema('/v3/profiles');
    const item = { attributes: { email: 'a@example.com', tags: ['x', 1], score: 2.5, opted_in: true, nickname: null } };
    expect(schemas.validate(schema, JSON.parse(ZAIUS_EXAMPLE_BODY))).toEqual([]);
    expect(schemas.validate(schema, item)).toEqual([]);
    expect(schemas.validate(schema, Array(500).fill(item))).toEqual([]);
    expect(schemas.validate(schema, Array(501).fill(item))).not.toEqual([]);
    expect(schemas.validate(schema, [])).not.toEqual([]);
    expect(schemas.validate(schema, { attributes: { address: { city: 'Boston' } } })).not.toEqual([]); // nested objects are rejected
    expect(schemas.validate(schema, { attributes: { Email: 'a@example.com' } })).not.toEqual([]); // names ^[a-z][a-z0-9_]{0,63}$
    expect(schemas.validate(schema, { email: 'a@example.com' })).not.toEqual([]); // attributes required
  });

  it('then the /v3 writes answer 202 Accepted, and their 400 documents detail.invalids of {event, message}', () => {
    for (const path of ['/v3/profiles', '/v3/events', '/v3/consent']) {
      const op = operation('post', path);
      const accepted = op.responses['202'].content['application/json'];
      expect(schemas.validate(accepted.schema, { title: 'Accepted', status: 202, timestamp: '2026-12-03T00:00:00.000Z' })).toEqual([]);
      expect(schemas.validate(accepted.schema, { title: 'Accepted', status: 200, timestamp: '2026-12-03T00:00:00.000Z' })).not.toEqual([]);
      const bad = op.responses['400'].content['application/json'];
      expect(schemas.validate(bad.schema, { title: 'Bad Request', status: 400, timestamp: '2026-12-03T00:00:00.000Z', detail: { invalids: [{ event: 0, message: 'x' }] } })).toEqual([]);
      expect(schemas.validate(bad.schema, { title: 'Bad Request', status: 400, timestamp: '2026-12-03T00:00:00.000Z', detail: { message: 'Malformed JSON' } })).toEqual([]);
      expect(op.responses['403'].content['application/json'].example).toEqual({ message: 'Forbidden' });
    }
    for (const status of ['413', '415', '429', '503']) expect(operation('post', '/v3/profiles').responses[status]).toBeDefined();
    expect(operation('post', '/v3/profiles').responses['429'].headers['Retry-After']).toBeDefined();
  });

  it('then POST /v3/events items need type and identifiers, and the look-up documents its 200 and Zaius 404', () => {
    const schema = bodySchema('/v3/events');
    expect(schemas.validate(schema, { type: 'order', identifiers: { email: 'a@example.com' }, data: { total: 1 } })).toEqual([]);
    expect(schemas.validate(schema, { type: 'order', identifiers: {} })).not.toEqual([]);
    expect(schemas.validate(schema, { type: 'Order', identifiers: { email: 'a@example.com' } })).not.toEqual([]);
    expect(schemas.validate(schema, { type: 'order', identifiers: { email: 'a' }, data: { nested: { no: 1 } } })).not.toEqual([]);
    const lookup = operation('get', '/v3/profiles');
    const found = { attributes: { email: 'a@example.com', emails: ['a@example.com'], zaius_id: 'x' }, identifiers: { email: ['a@example.com'] }, created_at: '2026-12-03T00:00:00.000Z', updated_at: '2026-12-03T00:00:00.000Z' };
    expect(schemas.validate(lookup.responses['200'].content['application/json'].schema, found)).toEqual([]);
    expect(schemas.validate(lookup.responses['404'].content['application/json'].schema, { title: 'Not Found', status: 404, timestamp: '2026-12-03T00:00:00.000Z', detail: { message: 'Unable to find profile for email = x@y.z' } })).toEqual([]);
  });
});
