// Issue 11 item 7 over HTTP against the single-node server: /openapi.json and /docs need no key;
// /docs is swagger-ui served by Tessera itself (every asset local: works offline); and the document
// is usable by a client that knows nothing else — a generic client below builds each request from
// the document alone (paths, parameter examples, security scheme, body examples) and checks that
// every answer's status is documented and its body validates against the documented schema.
import { mediaExample, OpenApiSchemas } from '../../libs/runtime/src/http/openapi/openapi-examples';
import { operationsOf, parametersOf } from '../../libs/runtime/src/http/openapi/openapi-check';
import { spawn } from 'node:child_process';
import { freePort } from '../support/ports';
import { createTestDatabase } from '../support/database';
import { distPath } from '../support/paths';
import { SingleNode, startSingleNode } from '../support/single-node-server';

type Json = Record<string, any>;
const ADMIN_KEY = `tka_openapi_e2e_${process.pid}_admin_key`;
let server: SingleNode;

beforeAll(async () => {
  server = await startSingleNode({ env: { TESSERA_ADMIN_KEY: ADMIN_KEY } });
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  server.cleanup();
});

async function getDocument(headers: Record<string, string> = {}): Promise<{ status: number; contentType: string; body: Json }> {
  const r = await fetch(`${server.url}/openapi.json`, { headers });
  return { status: r.status, contentType: r.headers.get('content-type') ?? '', body: (await r.json()) as Json };
}

describe('given no key, when a client reads /openapi.json', () => {
  it('then it gets the OpenAPI 3.1 document of the whole HTTP surface (a wrong key changes nothing)', async () => {
    const r = await getDocument();
    expect(r.status).toBe(200);
    expect(r.contentType).toMatch(/^application\/json/);
    expect(r.body.openapi).toBe('3.1.0');
    expect(r.body.info.title).toBe('Tessera');
    for (const path of ['/v3/profiles', '/v3/events', '/v3/consent', '/health/ready', '/api/v1/profiles/{id}/events', '/openapi.json', '/docs']) expect(Object.keys(r.body.paths)).toContain(path);
    expect(await getDocument({ 'x-api-key': 'not-a-key' })).toEqual(r);
  });
});

describe('given no key, when a browser opens /docs', () => {
  it('then it gets the swagger-ui page, whose every asset Tessera serves itself (no CDN), loading /openapi.json', async () => {
    const page = await fetch(`${server.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).not.toMatch(/https?:/);
    const html = await page.text();
    expect(html).toContain('<div id="swagger-ui">');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//); // nothing from another origin
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(assets).toEqual(expect.arrayContaining(['/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css', '/docs/swagger-initializer.js']));
    const types: Record<string, RegExp> = { js: /^text\/javascript/, css: /^text\/css/, png: /^image\/png/ };
    for (const asset of assets) {
      const r = await fetch(new URL(asset, server.url));
      expect([asset, r.status]).toEqual([asset, 200]);
      expect([asset, r.headers.get('content-type')]).toEqual([asset, expect.stringMatching(types[asset.split('.').pop()!])]);
      const body = Buffer.from(await r.arrayBuffer());
      expect(body.length).toBeGreaterThan(100);
      if (asset.endsWith('swagger-ui-bundle.js')) expect(body.toString('utf8')).toContain('SwaggerUIBundle');
      if (asset.endsWith('swagger-initializer.js')) expect(body.toString('utf8')).toContain("url: '/openapi.json'");
    }
    const missing = await fetch(`${server.url}/docs/nope.js`);
    expect(missing.status).toBe(404);
  });
});

// ── A generic client: knows only the document (and a key of each kind) ───────────────────────────

interface Call {
  operation: string;
  status: number;
  problems: string[];
}

function exampleOf(parameter: Json): unknown {
  if ('example' in parameter) return parameter.example;
  const named = Object.values(parameter.examples ?? {}) as Json[];
  if (named.length) return named[0].value;
  const schema = parameter.schema ?? {};
  return schema.examples?.[0] ?? schema.default ?? schema.enum?.[0];
}


/** The body a client sends: the media type's own example, else one built from its schema (as swagger-ui does). */
function bodyExampleOf(document: Json, requestBody: Json | undefined): { media: string; value: unknown } | undefined {
  for (const [media, content] of Object.entries((requestBody?.content ?? {}) as Json)) {
    const example = mediaExample(document, content);
    if (example) return { media, value: example.value };
  }
  return undefined;
}

/** The key a client holds for an operation's `x-access-policy` (a client would pick by the description). */
function keyFor(policy: string): string {
  return policy === 'admin' ? ADMIN_KEY : server.privateKey;
}

async function callFromDocument(document: Json, schemas: OpenApiSchemas, path: string, method: string, operation: Json, useBearer: boolean): Promise<Call> {
  const name = `${method.toUpperCase()} ${path}`;
  const problems: string[] = [];
  let url = path;
  const query = new URLSearchParams();
  const headers: Record<string, string> = {};
  for (const parameter of parametersOf(document, path, operation) as Json[]) {
    const value = exampleOf(parameter);
    if (value === undefined) {
      if (parameter.required) problems.push(`required parameter ${parameter.name} has no example`);
      continue;
    }
    if (parameter.in === 'path') url = url.replace(`{${parameter.name}}`, encodeURIComponent(String(value)));
    else if (parameter.in === 'query' && parameter.style === 'form' && parameter.explode !== false && typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) query.append(k, String(v));
    else if (parameter.in === 'query') query.append(parameter.name, String(value));
    else if (parameter.in === 'header' && parameter.required) headers[parameter.name] = String(value);
  }
  if (operation.security?.length) {
    // The schemes the document declares: x-api-key header (apiKey) or HTTP bearer.
    const schemes = document.components.securitySchemes;
    const key = keyFor(operation['x-access-policy']);
    if (useBearer && operation.security.some((s: Json) => 'bearer' in s)) headers.authorization = `Bearer ${key}`;
    else headers[schemes.apiKey.name] = key;
  }
  const body = bodyExampleOf(document, operation.requestBody);
  if (body) headers['content-type'] = body.media;
  const response = await fetch(`${server.url}${url}${query.size ? `?${query}` : ''}`, { method: method.toUpperCase(), headers, body: body ? JSON.stringify(body.value) : undefined });
  const text = await response.text();
  const documented = operation.responses[String(response.status)] ?? operation.responses[`${String(response.status)[0]}XX`] ?? operation.responses.default;
  if (!documented) problems.push(`status ${response.status} is not documented (${Object.keys(operation.responses).join(', ')}): ${text.slice(0, 300)}`);
  else if (documented.content && text.length) {
    const contentType = (response.headers.get('content-type') ?? '').split(';')[0].trim();
    const media = documented.content[contentType];
    if (!media) problems.push(`status ${response.status} answered ${contentType}, documented ${Object.keys(documented.content).join(', ')}`);
    else if (/json/.test(contentType)) {
      const errors = schemas.validate(media.schema, JSON.parse(text));
      if (errors.length) problems.push(`status ${response.status} body does not match its schema: ${errors.slice(0, 5).join('; ')} — ${text.slice(0, 300)}`);
    }
  }
  return { operation: `${name} → ${url}${query.size ? `?${query}` : ''}`, status: response.status, problems };
}

describe('given only the document, when a generic client calls every operation with the documented examples', () => {
  it('then every answer has a documented status and a body that validates against the documented schema', async () => {
    const { body: document } = await getDocument();
    const schemas = new OpenApiSchemas(document);
    const operations = operationsOf(document);
    // Writes of /v3 first (their examples create what the reads then find); then every read; no deletes.
    const v3Writes = operations.filter((o) => o.method === 'post' && o.path.startsWith('/v3/') && !o.path.includes('compliance'));
    const reads = operations.filter((o) => o.method === 'get');
    expect(v3Writes.length).toBeGreaterThanOrEqual(5);
    const calls: Call[] = [];
    let bearer = false;
    for (const { path, method, operation } of [...v3Writes, ...reads]) {
      calls.push(await callFromDocument(document, schemas, path, method, operation, (bearer = !bearer)));
    }
    console.log(`generic client, ${calls.length} calls:\n${calls.map((c) => `  ${String(c.status).padEnd(4)} ${c.operation}`).join('\n')}`);
    expect(calls.filter((c) => c.problems.length)).toEqual([]);
    // The documented /v3 write examples are accepted as documented.
    for (const c of calls.filter((c) => c.operation.startsWith('POST /v3/'))) expect([c.operation, c.status < 300]).toEqual([c.operation, true]);
  });
});

describe('given the scale-out apps (ingest, query, worker), when each is asked for /openapi.json', () => {
  it('then each documents exactly the routes it serves, and /docs works there too', async () => {
    const db = await createTestDatabase('openapi_apps');
    const expected: Record<string, { has: string[]; hasNot: string[] }> = {
      ingest: { has: ['POST /v3/profiles', 'POST /v3/events', 'GET /health/ready', 'GET /openapi.json'], hasNot: ['GET /v3/profiles'] },
      query: { has: ['GET /v3/profiles', 'GET /health/ready', 'GET /docs'], hasNot: ['POST /v3/profiles', 'POST /v3/events'] },
      worker: { has: ['GET /health/live', 'GET /health/ready', 'GET /openapi.json'], hasNot: ['POST /v3/profiles', 'GET /v3/profiles'] },
    };
    try {
      for (const [app, { has, hasNot }] of Object.entries(expected)) {
        const port = await freePort();
        const child = spawn(process.execPath, [distPath(`apps/${app}/src/main.js`)], {
          env: { ...process.env, DATABASE_URL: db.url, KAFKA_BROKERS: '', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout!.on('data', (d) => (out += d));
        child.stderr!.on('data', (d) => (out += d));
        const exited = new Promise((r) => child.once('exit', r));
        try {
          const url = `http://127.0.0.1:${port}`;
          const deadline = Date.now() + 30_000;
          while (!(await fetch(`${url}/health/live`).then((r) => r.ok, () => false))) {
            if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${app} did not start:\n${out}`);
            await new Promise((r) => setTimeout(r, 100));
          }
          const document = (await (await fetch(`${url}/openapi.json`)).json()) as Json;
          const operations = operationsOf(document).map((o) => `${o.method.toUpperCase()} ${o.path}`);
          expect({ app, missing: has.filter((h) => !operations.includes(h)), extra: hasNot.filter((h) => operations.includes(h)) }).toEqual({ app, missing: [], extra: [] });
          expect({ app, docs: (await fetch(`${url}/docs`)).status }).toEqual({ app, docs: 200 });
        } finally {
          child.kill('SIGTERM');
          await exited;
        }
      }
    } finally {
      await db.drop();
    }
  }, 120_000);
});
