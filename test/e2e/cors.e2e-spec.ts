// Issue 10 item 2: browser SDKs post cross-origin. CORS preflight and headers on /v3 with
// TESSERA_CORS_ORIGINS as a list (the allowed origin echoed, others get no CORS headers) and with the
// default `*`. A preflight needs no API key (browsers send none).
import { rawRequest, RawResponse, startSlowRequest } from '../support/faults/http';
import { SingleNode, startSingleNode } from '../support/single-node-server';

const SHOP = 'https://shop.example';
const LOCAL = 'http://localhost:3000';
const EVIL = 'https://evil.example';
const REQUESTED_HEADERS = 'content-type, x-api-key, idempotency-key, authorization';

let listed: SingleNode;
let open: SingleNode;

beforeAll(async () => {
  [listed, open] = await Promise.all([startSingleNode({ env: { TESSERA_CORS_ORIGINS: `${SHOP}, ${LOCAL}` } }), startSingleNode()]);
}, 120_000);

afterAll(async () => {
  for (const server of [listed, open]) {
    if (!server) continue;
    expect(await server.stop('SIGTERM')).toBe(0);
    server.cleanup();
  }
});

const preflight = (server: SingleNode, path: string, origin: string | null, headers: Record<string, string> = {}) =>
  rawRequest(server.url, {
    method: 'OPTIONS',
    path,
    headers: { ...(origin ? { origin } : {}), 'access-control-request-method': 'POST', 'access-control-request-headers': REQUESTED_HEADERS, ...headers },
  });

const post = (server: SingleNode, path: string, body: string, origin: string | null, apiKey: string | null = server.publicKey) =>
  rawRequest(server.url, {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(origin ? { origin } : {}), ...(apiKey ? { 'x-api-key': apiKey } : {}) },
    body,
  });

const corsHeaders = (r: RawResponse) => Object.keys(r.headers).filter((h) => h.startsWith('access-control-'));
const EVENT = JSON.stringify({ type: 'pageview', identifiers: { vuid: `cors-${process.pid}` }, data: {} });
const PROFILE = JSON.stringify({ attributes: { vuid: `cors-${process.pid}` } });

describe('given TESSERA_CORS_ORIGINS lists two origins', () => {
  it.each(['/v3/events', '/v3/profiles', '/v3/schema/identifiers'])('when an allowed origin sends a preflight for %s (no API key), then 204 allowing POST, the requested headers and a max-age', async (path) => {
    for (const origin of [SHOP, LOCAL]) {
      const r = await preflight(listed, path, origin);
      expect({ status: r.status, text: r.text }).toEqual({ status: 204, text: '' });
      expect(r.headers['access-control-allow-origin']).toBe(origin);
      expect(String(r.headers['access-control-allow-methods']).split(/,\s*/)).toEqual(expect.arrayContaining(['POST', 'GET']));
      expect(String(r.headers['access-control-allow-headers']).split(/,\s*/)).toEqual(expect.arrayContaining(['content-type', 'x-api-key', 'idempotency-key', 'authorization']));
      expect(r.headers['access-control-max-age']).toBe('7200');
      expect(r.headers['access-control-allow-credentials']).toBeUndefined();
      expect(String(r.headers['vary'])).toMatch(/origin/i);
      expect(r.headers['x-content-type-options']).toBe('nosniff'); // the security headers too
    }
  });

  it('when an allowed origin posts, then the answer (202, 400, 403 and 413 alike) allows that origin and exposes Idempotent-Replayed, Retry-After, Location and X-Total-Count', async () => {
    const answers: Array<[number, RawResponse]> = [
      [202, await post(listed, '/v3/events', EVENT, SHOP)],
      [202, await post(listed, '/v3/profiles', PROFILE, SHOP)],
      [400, await post(listed, '/v3/events', '{"type":"pageview"}', SHOP)],
      [400, await post(listed, '/v3/profiles', '{"attributes":', SHOP)],
      [403, await post(listed, '/v3/events', EVENT, SHOP, null)],
      [
        413,
        await startSlowRequest(listed.url, {
          path: '/v3/events',
          headers: { 'content-type': 'application/json', 'x-api-key': listed.publicKey, origin: SHOP },
          body: Buffer.alloc(5 * 1024 * 1024, 0x20),
          firstBytes: 0,
        }).response,
      ],
    ];
    for (const [status, r] of answers) {
      expect({ status: r.status, allowOrigin: r.headers['access-control-allow-origin'] }).toEqual({ status, allowOrigin: SHOP });
      expect(String(r.headers['access-control-expose-headers']).toLowerCase().split(/,\s*/)).toEqual(expect.arrayContaining(['retry-after', 'idempotent-replayed', 'location', 'x-total-count']));
    }
  });

  it('when a disallowed origin sends a preflight or posts, then no CORS header at all (the preflight is not answered 204)', async () => {
    const pre = await preflight(listed, '/v3/events', EVIL);
    expect(pre.status).not.toBe(204);
    expect(corsHeaders(pre)).toEqual([]);
    const posted = await post(listed, '/v3/events', EVENT, EVIL);
    expect(posted.status).toBe(202); // CORS is the browser's check; a server-side client is not refused
    expect(corsHeaders(posted)).toEqual([]);
    // An origin is matched exactly: scheme, host and port.
    for (const near of ['http://shop.example', 'https://shop.example:8443', 'https://sub.shop.example', 'http://localhost:3001']) {
      expect({ near, headers: corsHeaders(await preflight(listed, '/v3/events', near)) }).toEqual({ near, headers: [] });
    }
  });

  it('when a request has no Origin (a server-side client), then no CORS header', async () => {
    expect(corsHeaders(await post(listed, '/v3/profiles', PROFILE, null))).toEqual([]);
  });
});

describe('given the default TESSERA_CORS_ORIGINS (*)', () => {
  it('when any origin sends a preflight for /v3/events (no API key), then 204 with Access-Control-Allow-Origin: *', async () => {
    const r = await preflight(open, '/v3/events', EVIL);
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(String(r.headers['access-control-allow-headers']).split(/,\s*/)).toEqual(expect.arrayContaining(['x-api-key', 'idempotency-key']));
  });

  it('when any origin posts, then the answer, success or error, carries Access-Control-Allow-Origin: *', async () => {
    const ok = await post(open, '/v3/events', EVENT, EVIL);
    const forbidden = await post(open, '/v3/profiles', PROFILE, EVIL, 'not-a-key-0000000000');
    expect([ok.status, ok.headers['access-control-allow-origin']]).toEqual([202, '*']);
    expect([forbidden.status, forbidden.headers['access-control-allow-origin']]).toEqual([403, '*']);
  });
});
