// Tenants and keys over HTTP (DESIGN §12, seed 004) against the single-node server, as `npm start` runs
// it: the admin key is generated, persisted and printed; /api/v1/tenants answers it only (a tenant's
// key → 403, none or an unknown one → 401, problem+json); tenant names ^[a-z][a-z0-9]+$ (400), taken
// (409), unknown body fields (422); a key is shown once, listed by prefix, revoked by prefix; PATCH
// default_region changes how later upserts read phones. The CLI calls the same service.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tesseraCli } from '../support/faults/cli';
import { eventually, ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

let server: SingleNode;
let adminKey: string;

interface Answer {
  status: number;
  contentType: string;
  headers: Headers;
  body: any;
}

async function call(method: string, path: string, key: string | null | Record<string, string>, body?: unknown): Promise<Answer> {
  const auth = key === null ? {} : typeof key === 'string' ? { authorization: `Bearer ${key}` } : key;
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: r.status, contentType: r.headers.get('content-type') ?? '', headers: r.headers, body: parsed };
}

const admin = (method: string, path: string, body?: unknown) => call(method, path, adminKey, body);

function expectProblem(r: Answer, status: number, instance: string) {
  expect({ status: r.status, body: r.body }).toEqual({ status, body: expect.objectContaining({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String), instance }) });
  expect(r.contentType).toMatch(/^application\/problem\+json/);
}

beforeAll(async () => {
  server = await startSingleNode();
  adminKey = /admin key: +(\S+)/.exec(server.output())![1];
}, 90_000);

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  server.cleanup();
});

describe('given `npm start` without TESSERA_ADMIN_KEY', () => {
  it('then it generated an admin key, printed it and kept it (mode 0600) beside the default keys', () => {
    expect(adminKey).toMatch(/^tak_[A-Za-z0-9_-]{32}$/);
    const file = join(server.dataDir, 'default-tenant-keys.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ adminKey, publicKey: server.publicKey, privateKey: server.privateKey });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('given the tenant routes and who calls them', () => {
  // Every row has 3 entries: jest passes `done` for a missing one.
  const routes: Array<[string, string, unknown]> = [
    ['GET', '/api/v1/tenants', undefined],
    ['POST', '/api/v1/tenants', { name: 'nobody' }],
    ['GET', '/api/v1/tenants/default', undefined],
    ['PATCH', '/api/v1/tenants/default', { default_region: 'DE' }],
    ['POST', '/api/v1/tenants/default/keys', { kind: 'private' }],
    ['GET', '/api/v1/tenants/default/keys', undefined],
    ['DELETE', `/api/v1/tenants/default/keys/tsk_xxxxxxxx`, undefined],
  ];

  it.each(routes)('when %s %s is sent with no key or an unknown one, then 401 problem+json', async (method, path, body) => {
    const none = await call(method, path, null, body);
    expectProblem(none, 401, path);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expectProblem(await call(method, path, 'tak_not-the-admin-key-at-all', body), 401, path);
    expectProblem(await call(method, path, { 'x-api-key': 'tsk_unknown' }, body), 401, path);
  });

  it.each(routes)("when %s %s is sent with a tenant's key (private, public or read), then 403 problem+json and nothing changes", async (method, path, body) => {
    const read = (await tesseraCli(server.dataDir, 'keys', 'create', '--tenant', 'default', '--kind', 'read')).stdout.trim();
    for (const key of [server.privateKey, server.publicKey, read]) {
      expectProblem(await call(method, path, key, body), 403, path);
      expectProblem(await call(method, path, { 'x-api-key': key }, body), 403, path);
    }
    expect((await admin('GET', '/api/v1/tenants/nobody')).status).toBe(404);
    expect((await admin('GET', '/api/v1/tenants/default')).body.default_region).not.toBe('DE');
  });

  it('when the admin key is sent as Bearer or as x-api-key, then it is admitted', async () => {
    expect((await call('GET', '/api/v1/tenants', adminKey)).status).toBe(200);
    expect((await call('GET', '/api/v1/tenants', { 'x-api-key': adminKey })).status).toBe(200);
  });

  it("when the admin key is sent to a tenant's routes, then it is refused (it is no tenant's key): /v3 403 Forbidden, /api/v1 403 problem", async () => {
    const lookUp = await call('GET', '/v3/profiles?email=a%40example.com', { 'x-api-key': adminKey });
    expect({ status: lookUp.status, body: lookUp.body }).toEqual({ status: 403, body: { message: 'Forbidden' } });
    const upsert = await call('POST', '/v3/profiles', { 'x-api-key': adminKey }, { attributes: { email: 'admin@example.com' } });
    expect(upsert.status).toBe(403);
    const path = '/api/v1/profiles/0190a000-0000-7000-8000-0000000000ff/events';
    expectProblem(await call('GET', path, adminKey), 403, path);
  });
});

describe('given POST /api/v1/tenants', () => {
  it('when a free seed-004 name is sent, then 201 with the tenant and Location; it is listed and readable', async () => {
    const r = await admin('POST', '/api/v1/tenants', { name: 'acme', display_name: 'Acme Inc' });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ name: 'acme', display_name: 'Acme Inc', default_region: null, rate_limit: null, created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(r.headers.get('location')).toBe('/api/v1/tenants/acme');
    const listed = await admin('GET', '/api/v1/tenants');
    expect(listed.status).toBe(200);
    expect(listed.body.tenants.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['acme', 'default']));
    expect((await admin('GET', '/api/v1/tenants/acme')).body).toEqual(r.body);
    // The CLI sees the same tenants (one service).
    expect((await tesseraCli(server.dataDir, 'tenants', 'list')).stdout).toMatch(/^acme\tAcme Inc\t/m);
  });

  it.each(['Acme', '1acme', 'a', 'ac-me', 'ac_me', '', 'acme!', `a${'b'.repeat(63)}`])('when the name is %j, then 400 problem+json naming `name`, nothing created', async (name) => {
    const r = await admin('POST', '/api/v1/tenants', { name });
    expectProblem(r, 400, '/api/v1/tenants');
    expect(r.body.detail).toContain('`name`');
    expect((await admin('GET', '/api/v1/tenants')).body.tenants.map((t: { name: string }) => t.name)).not.toContain(name);
  });

  it('when the name is taken, then 409 and the tenant is unchanged', async () => {
    expect((await admin('POST', '/api/v1/tenants', { name: 'taken' })).status).toBe(201);
    const again = await admin('POST', '/api/v1/tenants', { name: 'taken', display_name: 'Other' });
    expectProblem(again, 409, '/api/v1/tenants');
    expect(again.body.detail).toContain('taken');
    expectProblem(await admin('POST', '/api/v1/tenants', { name: 'default' }), 409, '/api/v1/tenants');
    expect((await admin('GET', '/api/v1/tenants/taken')).body.display_name).toBe('taken');
  });

  it('when a field is unknown, the name missing or not a string, then 422 with errors[] naming each field', async () => {
    const unknown = await admin('POST', '/api/v1/tenants', { name: 'fresh1', plan: 'gold' });
    expectProblem(unknown, 422, '/api/v1/tenants');
    expect(unknown.body.errors).toEqual([{ field: 'plan', message: expect.any(String) }]);
    expect((await admin('POST', '/api/v1/tenants', {})).body.errors).toEqual([{ field: 'name', message: expect.any(String) }]);
    expect((await admin('POST', '/api/v1/tenants', { name: 12 })).status).toBe(422);
    expect((await admin('POST', '/api/v1/tenants', [{ name: 'fresh1' }])).status).toBe(422);
    expect((await admin('GET', '/api/v1/tenants/fresh1')).status).toBe(404);
    // Malformed JSON is the native API's 400.
    expectProblem(await admin('POST', '/api/v1/tenants', '{"name":'), 400, '/api/v1/tenants');
  });
});

describe('given keys made over HTTP', () => {
  it('when a key is created, then 201 shows it once (no-store); it works in its tenant; lists show its prefix only', async () => {
    await admin('POST', '/api/v1/tenants', { name: 'keyco' });
    const created = await admin('POST', '/api/v1/tenants/keyco/keys', { kind: 'private', label: 'back office' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      key: expect.stringMatching(/^tsk_[A-Za-z0-9_-]{32}$/),
      prefix: expect.stringMatching(/^tsk_[A-Za-z0-9_-]{8}$/),
      tenant: 'keyco',
      kind: 'private',
      restrictions: [],
      label: 'back office',
      created_at: expect.any(String),
      revoked_at: null,
    });
    expect(created.headers.get('cache-control')).toBe('no-store');
    const { key, prefix } = created.body;
    expect(key.startsWith(prefix)).toBe(true);

    const client = new ProfilesClient(server.url, key, key);
    expect((await client.post({ attributes: { email: 'keyco@example.com', first_name: 'Kay' } })).status).toBe(202);
    expect((await client.until('email=keyco%40example.com')).attributes.first_name).toBe('Kay');

    const listed = await admin('GET', '/api/v1/tenants/keyco/keys');
    expect(listed.status).toBe(200);
    expect(listed.body.keys).toEqual([{ prefix, tenant: 'keyco', kind: 'private', restrictions: [], label: 'back office', created_at: created.body.created_at, revoked_at: null }]);
    expect(JSON.stringify(listed.body)).not.toContain(key);
    // The CLI lists the same key by the same prefix.
    const cli = await tesseraCli(server.dataDir, 'keys', 'list', '--tenant', 'keyco');
    expect(cli.stdout).toContain(`${prefix}…\tkeyco\tprivate\tback office\tactive`);
    expect(cli.stdout).not.toContain(key);
  });

  it('when each kind is created, then its prefix names its kind; a bad kind, bad restrictions or an unknown field → 422 naming them', async () => {
    for (const [kind, tag] of [['public', 'tpk_'], ['read', 'trk_'], ['private', 'tsk_']]) {
      const r = await admin('POST', '/api/v1/tenants/keyco/keys', { kind, restrictions: ['DE'] });
      expect({ status: r.status, prefix: r.body.prefix.slice(0, 4), restrictions: r.body.restrictions }).toEqual({ status: 201, prefix: tag, restrictions: ['DE'] });
    }
    const bad = await admin('POST', '/api/v1/tenants/keyco/keys', { kind: 'admin', restrictions: ['DE', 7], scope: 'x' });
    expectProblem(bad, 422, '/api/v1/tenants/keyco/keys');
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(['scope']);
    const values = await admin('POST', '/api/v1/tenants/keyco/keys', { kind: 'admin', restrictions: ['DE', 7] });
    expect(values.body.errors.map((e: { field: string }) => e.field)).toEqual(['kind', 'restrictions[1]']);
    expect((await admin('POST', '/api/v1/tenants/keyco/keys', {})).body.errors.map((e: { field: string }) => e.field)).toEqual(['kind']);
  });

  it('when a key is revoked by its prefix, then 204 and the key is refused at once (401 on /api/v1, 403 on /v3); again → 404', async () => {
    const { key, prefix } = (await admin('POST', '/api/v1/tenants/keyco/keys', { kind: 'private' })).body;
    const client = new ProfilesClient(server.url, key, key);
    expect((await client.post({ attributes: { email: 'revoked-soon@example.com' } })).status).toBe(202); // cached now
    const revokedAt = Date.now();
    const r = await admin('DELETE', `/api/v1/tenants/keyco/keys/${prefix}`);
    expect({ status: r.status, body: r.body }).toEqual({ status: 204, body: undefined });
    // This process evicted it from its cache: the very next request is refused (other processes: within 5 s).
    expect((await client.post({ attributes: { email: 'revoked-soon@example.com' } })).status).toBe(403);
    const path = '/api/v1/profiles/0190a000-0000-7000-8000-0000000000ff/events';
    expectProblem(await call('GET', path, key), 401, path);
    console.log(`key revoked over HTTP: refused ${Date.now() - revokedAt} ms after the DELETE was sent`);
    const listed = (await admin('GET', '/api/v1/tenants/keyco/keys')).body.keys.find((k: { prefix: string }) => k.prefix === prefix);
    expect(listed.revoked_at).toEqual(expect.any(String));
    expectProblem(await admin('DELETE', `/api/v1/tenants/keyco/keys/${prefix}`), 404, `/api/v1/tenants/keyco/keys/${prefix}`);
  });

  it('when a key made with the CLI is revoked over HTTP (and the other way round), then both refuse it: one service', async () => {
    const cliKey = (await tesseraCli(server.dataDir, 'keys', 'create', '--tenant', 'keyco', '--kind', 'public', '--restrictions', 'DE,FR')).stdout.trim();
    const listed = (await admin('GET', '/api/v1/tenants/keyco/keys')).body.keys.find((k: { prefix: string }) => cliKey.startsWith(k.prefix));
    expect(listed).toMatchObject({ kind: 'public', restrictions: ['DE', 'FR'], revoked_at: null });
    expect((await admin('DELETE', `/api/v1/tenants/keyco/keys/${listed.prefix}`)).status).toBe(204);
    const httpKey = (await admin('POST', '/api/v1/tenants/keyco/keys', { kind: 'public' })).body;
    expect(await tesseraCli(server.dataDir, 'keys', 'revoke', httpKey.prefix)).toMatchObject({ code: 0, stdout: 'revoked 1 key(s)\n' });
    const client = new ProfilesClient(server.url, httpKey.key, httpKey.key);
    // The CLI is another process: this server refuses the key within its cache's 5 s.
    await eventually(async () => ((await client.post({ attributes: { email: 'cli-revoked@example.com' } })).status === 403 ? true : undefined), 7_000, 100);
  }, 20_000);

  it("when a prefix is revoked under another tenant's path, then 404 and the key keeps working (tenant isolation)", async () => {
    const { key, prefix } = (await admin('POST', '/api/v1/tenants/keyco/keys', { kind: 'private' })).body;
    expectProblem(await admin('DELETE', `/api/v1/tenants/default/keys/${prefix}`), 404, `/api/v1/tenants/default/keys/${prefix}`);
    expect((await admin('GET', '/api/v1/tenants/default/keys')).body.keys.map((k: { prefix: string }) => k.prefix)).not.toContain(prefix);
    expect((await new ProfilesClient(server.url, key, key).post({ attributes: { email: 'still-works@example.com' } })).status).toBe(202);
  });
});

describe('given an unknown tenant', () => {
  it.each<[string, string, unknown]>([
    ['GET', '/api/v1/tenants/nosuch', undefined],
    ['PATCH', '/api/v1/tenants/nosuch', { default_region: 'GB' }],
    ['POST', '/api/v1/tenants/nosuch/keys', { kind: 'read' }],
    ['GET', '/api/v1/tenants/nosuch/keys', undefined],
    ['DELETE', '/api/v1/tenants/nosuch/keys/tsk_abcdefgh', undefined],
    ['GET', '/api/v1/tenants/NoSuch%20Thing', undefined],
  ])('when %s %s, then 404 problem+json and nothing is created', async (method, path, body) => {
    expectProblem(await admin(method, path, body), 404, path);
    expect((await admin('GET', '/api/v1/tenants')).body.tenants.map((t: { name: string }) => t.name)).not.toContain('nosuch');
  });
});

describe('given PATCH /api/v1/tenants/{tenant}', () => {
  it('when default_region is set to GB, then later national-format phones of that tenant are stored as +44; null clears it', async () => {
    await admin('POST', '/api/v1/tenants', { name: 'ukshop' });
    const key = (await admin('POST', '/api/v1/tenants/ukshop/keys', { kind: 'private' })).body.key;
    const uk = new ProfilesClient(server.url, key, key);
    // Before: read in the default region (US), a London number is not a possible number → 400.
    expect((await uk.post({ attributes: { phone: '020 7946 0018', first_name: 'Before' } })).status).toBe(400);
    const r = await admin('PATCH', '/api/v1/tenants/ukshop', { default_region: 'gb' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: 'ukshop', default_region: 'GB', rate_limit: null });
    expect((await uk.post({ attributes: { phone: '020 7946 0018', first_name: 'Londoner' } })).status).toBe(202);
    expect((await uk.until('phone=%2B442079460018')).attributes.first_name).toBe('Londoner');
    expect((await admin('PATCH', '/api/v1/tenants/ukshop', { default_region: null })).body.default_region).toBeNull();
    expect((await uk.post({ attributes: { phone: '020 7946 0019' } })).status).toBe(400);
  }, 30_000);

  it('when a rate limit is set, then it is answered and applies to the tenant (429 past the burst); null restores the default', async () => {
    await admin('POST', '/api/v1/tenants', { name: 'slowco' });
    const key = (await admin('POST', '/api/v1/tenants/slowco/keys', { kind: 'private' })).body.key;
    const r = await admin('PATCH', '/api/v1/tenants/slowco', { rate_limit: { items_per_second: 1, burst: 2 } });
    expect(r.body.rate_limit).toEqual({ items_per_second: 1, burst: 2 });
    const client = new ProfilesClient(server.url, key, key);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await client.post({ attributes: { email: `slow${i}@example.com` } })).status);
    expect(statuses).toContain(429);
    expect((await admin('PATCH', '/api/v1/tenants/slowco', { rate_limit: null })).body.rate_limit).toBeNull();
    expect((await client.post({ attributes: { email: 'fast@example.com' } })).status).toBe(202);
  });

  it('when a value or field is bad, then 422 naming each field, and nothing changes', async () => {
    const path = '/api/v1/tenants/ukshop';
    const r = await admin('PATCH', path, { default_region: 'ZZ', rate_limit: { items_per_second: -1 } });
    expectProblem(r, 422, path);
    expect(r.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['default_region', 'rate_limit.items_per_second']);
    expect((await admin('PATCH', path, { name: 'renamed' })).body.errors).toEqual([{ field: 'name', message: expect.any(String) }]);
    expect((await admin('GET', path)).body).toMatchObject({ name: 'ukshop', default_region: null, rate_limit: null });
  });
});
