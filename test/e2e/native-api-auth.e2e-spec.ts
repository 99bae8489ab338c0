// Native API conventions (DESIGN §12) over HTTP against the single-node server: Bearer or x-api-key;
// 401 for a missing or unknown key, 403 for a key of the wrong kind, as application/problem+json under
// /api/v1 — while /v3 keeps its Zaius shapes (403 {"message":"Forbidden"}, DESIGN §3). Key kinds:
// public (writes only), read (every GET, /v3 look-ups included), private (everything).
import { tesseraCli } from '../support/faults/cli';
import { eventually, ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

let server: SingleNode;
let readKey: string;
let profileId: string;
const email = `native.${process.pid}@example.com`;

interface Answer {
  status: number;
  contentType: string;
  headers: Headers;
  body: any;
}

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, contentType: r.headers.get('content-type') ?? '', headers: r.headers, body: await r.json().catch(() => undefined) };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const apiKey = (key: string) => ({ 'x-api-key': key });

function expectProblem(r: Answer, status: number, instance: string) {
  expect(r.status).toBe(status);
  expect(r.contentType).toMatch(/^application\/problem\+json/);
  expect(r.body).toEqual({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String), instance });
  expect(r.body.type.length).toBeGreaterThan(0);
  expect(r.body.detail.length).toBeGreaterThan(0);
}

beforeAll(async () => {
  server = await startSingleNode();
  const created = await tesseraCli(server.dataDir, 'keys', 'create', '--tenant', 'default', '--kind', 'read');
  expect(created.code).toBe(0);
  readKey = created.stdout.trim();
  expect(readKey).toMatch(/^trk_[A-Za-z0-9_-]+$/);
  const client = new ProfilesClient(server.url, server.publicKey, server.privateKey);
  expect((await client.post({ attributes: { email, first_name: 'Nat' } })).status).toBe(202);
  profileId = (await client.until(`email=${encodeURIComponent(email)}`)).attributes.zaius_id;
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  server.cleanup();
});

describe('given a read key (keys create --kind read)', () => {
  it('when it GETs /v3 look-ups and /api/v1 resources, with x-api-key or Bearer, then it may', async () => {
    for (const headers of [apiKey(readKey), bearer(readKey)]) {
      const lookup = await call('GET', `/v3/profiles?email=${encodeURIComponent(email)}`, headers);
      expect(lookup.status).toBe(200);
      expect(lookup.body.attributes.zaius_id).toBe(profileId);
      const events = await call('GET', `/api/v1/profiles/${profileId}/events`, headers);
      expect(events.status).toBe(200);
      expect(events.body).toEqual({ events: expect.any(Array), next: null });
    }
  });

  it('when it POSTs to /v3/profiles, then 403 {"message":"Forbidden"} (read keys do not write), and nothing is written', async () => {
    const r = await call('POST', '/v3/profiles', apiKey(readKey), { attributes: { email, first_name: 'Changed' } });
    expect({ status: r.status, body: r.body }).toEqual({ status: 403, body: { message: 'Forbidden' } });
    const events = await call('POST', '/v3/events', bearer(readKey), { type: 'pageview', identifiers: { email } });
    expect({ status: events.status, body: events.body }).toEqual({ status: 403, body: { message: 'Forbidden' } });
  });
});

describe('given /api/v1 (problem+json)', () => {
  const path = () => `/api/v1/profiles/${profileId}/events`;

  it('when no key is sent, then 401 problem+json asking for a Bearer key', async () => {
    const r = await call('GET', path());
    expectProblem(r, 401, path());
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it.each([
    ['an unknown x-api-key', apiKey('tsk_not-a-key')],
    ['an unknown Bearer key', bearer('trk_not-a-key')],
    ['Basic credentials', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['an empty Bearer', { authorization: 'Bearer ' }],
  ])('when %s is sent, then 401 problem+json', async (_what, headers) => {
    expectProblem(await call('GET', path(), headers), 401, path());
  });

  it('when a public key (valid, not enough to read) is sent, then 403 problem+json, either header', async () => {
    expectProblem(await call('GET', path(), apiKey(server.publicKey)), 403, path());
    expectProblem(await call('GET', path(), bearer(server.publicKey)), 403, path());
  });

  it('when a private key is sent as Bearer, then it reads', async () => {
    expect((await call('GET', path(), bearer(server.privateKey))).status).toBe(200);
  });

  it('when the route does not exist under /api/v1, then 404 problem+json; a bad query parameter is 400 problem+json naming it', async () => {
    expectProblem(await call('GET', '/api/v1/no/such/route', apiKey(readKey)), 404, '/api/v1/no/such/route');
    expectProblem(await call('GET', '/api/v1/profiles/0190a000-0000-7000-8000-0000000000ff/events', apiKey(readKey)), 404, '/api/v1/profiles/0190a000-0000-7000-8000-0000000000ff/events');
    const bad = await call('GET', `${path()}?limit=9999`, apiKey(readKey));
    expectProblem(bad, 400, path());
    expect(bad.body.detail).toContain('`limit`');
  });
});

describe('given /v3 (Zaius shapes)', () => {
  it('when the key is missing, unknown or of the wrong kind, then always 403 {"message":"Forbidden"} as application/json', async () => {
    for (const headers of [{}, apiKey('tsk_not-a-key'), apiKey(server.publicKey)]) {
      const r = await call('GET', `/v3/profiles?email=${encodeURIComponent(email)}`, headers);
      expect({ status: r.status, body: r.body }).toEqual({ status: 403, body: { message: 'Forbidden' } });
      expect(r.contentType).toMatch(/^application\/json/);
    }
  });

  it('when the route does not exist, then the Zaius 404 stays', async () => {
    const r = await call('GET', '/v3/no-such-route', apiKey(server.privateKey));
    expect(r.status).toBe(404);
    expect(r.contentType).toMatch(/^application\/json/);
    expect(r.body).toMatchObject({ title: 'Not Found', status: 404, detail: { message: expect.any(String) } });
  });
});

describe('given events posted for the profile', () => {
  it('when they are read with a read key, then they are listed newest first in the documented shape', async () => {
    const posted = await call('POST', '/v3/events', apiKey(server.publicKey), [
      { type: 'pageview', action: 'view', identifiers: { email }, data: { ts: 1767225600, page: '/a' } },
      { type: 'order', action: 'purchase', identifiers: { email }, data: { ts: 1767225660, total: 9.5 } },
    ]);
    expect(posted.status).toBe(202);
    const page = await eventually(async () => {
      const r = await call('GET', `/api/v1/profiles/${profileId}/events?limit=1`, bearer(readKey));
      return r.status === 200 && r.body.events.length === 1 && r.body.next ? r.body : undefined;
    }, 20_000);
    expect(page.events[0]).toEqual({ id: expect.any(String), type: 'order', action: 'purchase', ts: '2026-01-01T00:01:00.000Z', identifiers: { email }, data: { total: 9.5 } });
    const second = await call('GET', `/api/v1/profiles/${profileId}/events?limit=1&cursor=${encodeURIComponent(page.next)}`, bearer(readKey));
    expect(second.body).toEqual({ events: [expect.objectContaining({ type: 'pageview', ts: '2026-01-01T00:00:00.000Z', data: { page: '/a' } })], next: null });
  });
});
