// Issue 5 §3: security headers on every response (success and error alike), and API keys never in the
// server's logs (run at LOG_LEVEL=debug, with good and bad keys, errors included) nor stored in clear.
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { connectDataDirDb, embeddedPostgresPort } from '../support/faults/data-dir-db';
import { rawRequest, RawResponse, startSlowRequest } from '../support/faults/http';
import { ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

let server: SingleNode;
let api: ProfilesClient;
const tag = `sec${process.pid}`;
const email = `headers.${tag}@example.com`;
const badKeys = [`tpk_${randomBytes(24).toString('base64url')}`, `tsk_${randomBytes(24).toString('base64url')}`, `not-a-key-${randomBytes(8).toString('hex')}`];

beforeAll(async () => {
  server = await startSingleNode({ env: { LOG_LEVEL: 'debug' } });
  api = new ProfilesClient(server.url, server.publicKey, server.privateKey);
  expect((await api.post({ attributes: { email, first_name: 'Head' } })).status).toBe(202);
  await api.until(`email=${encodeURIComponent(email)}`);
});

afterAll(async () => {
  expect(await server.stop('SIGTERM')).toBe(0);
  server.cleanup();
});

function expectSecurityHeaders(r: RawResponse, what: string) {
  const h = r.headers;
  expect({
    what,
    'x-content-type-options': h['x-content-type-options'],
    'x-frame-options': h['x-frame-options'],
    'referrer-policy': h['referrer-policy'],
    'cache-control': h['cache-control'],
  }).toEqual({ what, 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' });
  expect({ what, csp: h['content-security-policy'] }).toEqual({ what, csp: expect.stringContaining("default-src 'none'") });
  expect({ what, csp: h['content-security-policy'] }).toEqual({ what, csp: expect.stringContaining("frame-ancestors 'none'") });
  // Nothing that fingerprints the stack.
  expect({ what, poweredBy: h['x-powered-by'], server: h['server'] }).toEqual({ what, poweredBy: undefined, server: undefined });
}

const post = (body: string, key: string | null = server.publicKey, type = 'application/json') =>
  rawRequest(server.url, {
    method: 'POST',
    path: '/v3/profiles',
    headers: { 'content-type': type, 'content-length': Buffer.byteLength(body), ...(key ? { 'x-api-key': key } : {}) },
    body,
  });
const get = (path: string, key: string | null = server.privateKey) => rawRequest(server.url, { path, headers: key ? { 'x-api-key': key } : {} });

describe('given requests answered with every status the API uses', () => {
  const cases: Array<[string, number, () => Promise<RawResponse>]> = [
    ['GET /health/live', 200, () => get('/health/live', null)],
    ['GET /health/ready', 200, () => get('/health/ready', null)],
    ['GET a profile', 200, () => get(`/v3/profiles?email=${encodeURIComponent(email)}`)],
    ['POST a batch', 202, () => post(JSON.stringify({ attributes: { email } }))],
    ['POST an invalid item', 400, () => post('{"attributes":{"email":"nope"}}')],
    ['POST malformed JSON', 400, () => post('{"attributes":')],
    ['GET without an identifier', 400, () => get('/v3/profiles')],
    ['POST without a key', 403, () => post('{"attributes":{"email":"a@b.co"}}', null)],
    ['POST with an unknown key', 403, () => post('{"attributes":{"email":"a@b.co"}}', badKeys[0])],
    ['GET with a public key', 403, () => get(`/v3/profiles?email=${encodeURIComponent(email)}`, server.publicKey)],
    ['GET an unknown profile', 404, () => get('/v3/profiles?email=nobody%40example.com')],
    ['GET an unknown route', 404, () => get('/admin', null)],
    ['DELETE /v3/profiles', 404, () => rawRequest(server.url, { method: 'DELETE', path: '/v3/profiles', headers: { 'x-api-key': server.privateKey } })],
    // Declared over the limit, body not sent: the 413 comes before any upload (no upload/close race; that race
    // is exercised in bad-input.e2e-spec.ts).
    [
      'POST a body declared over the limit',
      413,
      () =>
        startSlowRequest(server.url, {
          path: '/v3/profiles',
          headers: { 'content-type': 'application/json', 'x-api-key': server.publicKey },
          body: Buffer.alloc(5 * 1024 * 1024, 0x20),
          firstBytes: 0,
        }).response,
    ],
    ['POST text/plain', 415, () => post('email=a@b.co', server.publicKey, 'text/plain')],
  ];

  it.each(cases)('when %s (%i), then the response carries the security headers', async (what, status, send) => {
    const r = await send();
    expect({ what, status: r.status }).toEqual({ what, status });
    expectSecurityHeaders(r, what);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
  });
});

describe('given /health/ready, open to anyone', () => {
  it('then it answers a status only, with or without a key: no engine, no checks, no error text', async () => {
    for (const key of [null, server.publicKey, server.privateKey]) {
      const r = await get('/health/ready', key);
      expect({ status: r.status, body: r.json }).toEqual({ status: 200, body: { status: 'ok' } });
    }
  });
});

describe('given the single-node data dir', () => {
  it('then its PostgreSQL superuser has a random password, in a file only its owner can read; the old fixed one is refused', async () => {
    const file = join(server.dataDir, 'postgres-password');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const db = await connectDataDirDb(server.dataDir); // reads the password from the data dir
    await db.end();
    const legacy = new Client({ connectionString: `postgres://tessera:tessera@127.0.0.1:${embeddedPostgresPort(server.dataDir)}/tessera` });
    await expect(legacy.connect()).rejects.toMatchObject({ code: '28P01' });
  });
});

describe('given the server ran at LOG_LEVEL=debug with good and bad keys', () => {
  it('then no API key appears anywhere in its output but the startup banner', async () => {
    // More traffic with every key, including requests that fail inside the server.
    for (const key of [server.publicKey, server.privateKey, ...badKeys]) {
      await post(JSON.stringify({ attributes: { email: `log.${tag}@example.com` } }), key);
      await get(`/v3/profiles?email=${encodeURIComponent(email)}`, key);
      await get('/v3/profiles?zaius_id=a%00b', key);
      await post('{"attributes":', key);
      await rawRequest(server.url, { path: '/health/live', headers: { 'x-api-key': key, authorization: `Bearer ${key}` } });
    }
    await api.until(`email=${encodeURIComponent(`log.${tag}@example.com`)}`);
    const output = server.output();
    expect(output).toMatch(/"level":20/); // debug lines were really written
    const logs = output
      .split('\n')
      .filter((line) => !/^\s+(public|private) key:\s/.test(line)) // the documented banner that prints the default keys
      .join('\n');
    for (const key of [server.publicKey, server.privateKey, ...badKeys]) {
      expect(logs).not.toContain(key);
      expect(logs).not.toContain(key.slice(8)); // nor the secret part after the listed prefix
    }
  });

  it('then keys are stored only as hashes, and the default keys file is readable by its owner only', async () => {
    const db = await connectDataDirDb(server.dataDir);
    try {
      const { rows } = await db.query('SELECT * FROM api_keys');
      expect(rows.length).toBeGreaterThanOrEqual(2);
      const stored = JSON.stringify(rows);
      for (const key of [server.publicKey, server.privateKey]) {
        expect(stored).not.toContain(key);
        expect(stored).not.toContain(key.slice(8));
      }
      for (const r of rows) expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await db.end();
    }
    expect(statSync(join(server.dataDir, 'default-tenant-keys.json')).mode & 0o077).toBe(0);
  });
});
