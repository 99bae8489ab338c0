// Native profile writes (DESIGN §12) over HTTP against the single-node server, as a back-office client
// sees them: POST/PUT/PATCH/DELETE /api/v1/profiles[/{id}] and the contacts sub-resource. Writes answer
// once the projection applied them (read-your-writes): 201/200 with the profile, 204, 409 naming the
// owner, 404, 422 naming each field, 400 for malformed JSON, and 202 + Location when the wait runs out
// (a second server with TESSERA_SYNC_WRITE_TIMEOUT_MS=0).
import { tesseraCli } from '../support/faults/cli';
import { eventually, SingleNode, startSingleNode } from '../support/single-node-server';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UNKNOWN_ID = '0190a000-0000-7000-8000-0000000000ff';
const tag = `pw${process.pid}`;
const PASSWORD = `plain-${tag}-Secret!`;

let server: SingleNode;

interface Answer {
  status: number;
  contentType: string;
  location: string | null;
  text: string;
  body: any;
}

async function call(method: string, path: string, body?: unknown, key: string = server.privateKey, base = server): Promise<Answer> {
  const r = await fetch(`${base.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: r.status, contentType: r.headers.get('content-type') ?? '', location: r.headers.get('location'), text, body: parsed };
}

function expectProblem(r: Answer, status: number, detail?: RegExp | string) {
  expect({ status: r.status, contentType: r.contentType }).toEqual({ status, contentType: expect.stringMatching(/^application\/problem\+json/) });
  expect(r.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String), instance: expect.stringMatching(/^\/api\/v1\//) });
  if (detail) expect(r.body.detail).toMatch(detail);
}

function expect422(r: Answer, fields: string[]) {
  expectProblem(r, 422);
  expect((r.body.errors as Array<{ field: string }>).map((e) => e.field)).toEqual(fields);
}

const email = (name: string) => `${name}.${tag}@example.com`;

async function createProfile(body: Record<string, unknown>): Promise<any> {
  const r = await call('POST', '/api/v1/profiles', body);
  expect({ status: r.status, text: r.status === 201 ? '' : r.text }).toEqual({ status: 201, text: '' });
  return r.body;
}

const ADMIN_KEY = `tka_writes_e2e_${process.pid}_admin_key`;

beforeAll(async () => {
  server = await startSingleNode({ env: { TESSERA_ADMIN_KEY: ADMIN_KEY } });
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  server.cleanup();
});

describe('given POST /api/v1/profiles', () => {
  it('when the body is valid, then 201 with Location and the profile as the projection holds it; the password is never returned', async () => {
    const r = await call('POST', '/api/v1/profiles', {
      attributes: { email: email('mary'), first_name: 'Mary', last_name: 'Smith' },
      status: 'active',
      tags: ['blue', 'green'],
      password: PASSWORD,
      contacts: [{ key: 'phone', value: '+1 415 555 0100' }],
    });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.stringMatching(UUID),
      status: 'active',
      enabled: true,
      tags: ['blue', 'green'],
      attributes: expect.objectContaining({ email: email('mary'), first_name: 'Mary', last_name: 'Smith' }),
      contacts: expect.arrayContaining([
        { contact_id: expect.any(String), key: 'email', value: email('mary'), created_at: expect.stringMatching(ISO), updated_at: expect.stringMatching(ISO) },
        { contact_id: expect.any(String), key: 'phone', value: '+14155550100', created_at: expect.stringMatching(ISO), updated_at: expect.stringMatching(ISO) },
      ]),
      has_password: true,
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    });
    expect(r.body.contacts).toHaveLength(2);
    expect(r.location).toBe(`/api/v1/profiles/${r.body.id}`);
    expect(r.text).not.toContain(PASSWORD);
    expect(r.text).not.toMatch(/"password"/);
    // Read-your-writes: the Location answers the same profile at once.
    const read = await call('GET', r.location!, undefined, server.privateKey);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(r.body);
    expect(read.text).not.toContain(PASSWORD);
  });

  it('when an identifier already belongs to a profile, then 409 naming the field and that profile\'s id, and nothing is created', async () => {
    const owner = await createProfile({ attributes: { email: email('taken'), first_name: 'Owner' } });
    const r = await call('POST', '/api/v1/profiles', { attributes: { email: email('taken'), first_name: 'Intruder' }, contacts: [{ key: 'phone', value: '+1 415 555 0111' }] });
    expectProblem(r, 409, owner.id);
    expect(r.body.detail).toMatch(/email/);
    const again = await call('GET', `/api/v1/profiles/${owner.id}`);
    expect(again.body.attributes.first_name).toBe('Owner');
    // The other identifier of the refused create resolves to nobody.
    expect((await call('GET', `/v3/profiles?phone=${encodeURIComponent('+14155550111')}`)).status).toBe(404);
  });

  it('when contacts carry the only identifiers (seed 002), then the profile is created with them', async () => {
    const created = await createProfile({ attributes: { first_name: 'Only' }, contacts: [{ key: 'email', value: email('only1') }, { key: 'email', value: email('only2') }] });
    expect(created.contacts.map((c: any) => c.value).sort()).toEqual([email('only1'), email('only2')].sort());
  });
});

describe('given PUT, PATCH and DELETE of /api/v1/profiles/{id}', () => {
  it('when PUT replaces, then attributes left out are cleared and status and tags are replaced (200)', async () => {
    const p = await createProfile({ attributes: { email: email('put'), first_name: 'Put', city: 'Oslo' }, tags: ['a'], status: 'active' });
    const r = await call('PUT', `/api/v1/profiles/${p.id}`, { attributes: { first_name: 'Replaced' }, status: 'suspended', tags: ['b', 'c'] });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: p.id, status: 'suspended', enabled: false, tags: ['b', 'c'] });
    expect(r.body.attributes.first_name).toBe('Replaced');
    expect(r.body.attributes.city).toBeUndefined();
    // The identifier stays a contact: a PUT does not unlink.
    expect(r.body.contacts.map((c: any) => c.value)).toEqual([email('put')]);
  });

  it('when a client PUTs back exactly what it read, then 200 and the profile is unchanged', async () => {
    const p = await createProfile({ attributes: { email: email('back'), first_name: 'Back', score: 3 }, tags: ['x'], password: PASSWORD, contacts: [{ key: 'phone', value: '+1 415 555 0122' }] });
    const read = (await call('GET', `/api/v1/profiles/${p.id}`)).body;
    const r = await call('PUT', `/api/v1/profiles/${p.id}`, read);
    expect({ status: r.status, text: r.status === 200 ? '' : r.text }).toEqual({ status: 200, text: '' });
    // Timestamps move (the write touched the profile and saw its identifiers again); nothing else does.
    const unstamped = ({ updated_at: _u, contacts, ...rest }: any) => ({ ...rest, contacts: contacts.map(({ updated_at: _c, ...c }: any) => c) });
    expect(unstamped(r.body)).toEqual(unstamped(read));
    expect(r.body.has_password).toBe(true);
  });

  it('when PATCH merges, then given attributes change, null clears one and the rest is kept (200)', async () => {
    const p = await createProfile({ attributes: { email: email('patch'), first_name: 'Pat', city: 'Rome', age: 30 }, tags: ['keep'] });
    const r = await call('PATCH', `/api/v1/profiles/${p.id}`, { attributes: { city: 'Milan', age: null }, status: 'closed' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'closed', enabled: false, tags: ['keep'], has_password: false });
    expect(r.body.attributes).toMatchObject({ first_name: 'Pat', city: 'Milan' });
    expect(r.body.attributes.age).toBeUndefined();
    const pw = await call('PATCH', `/api/v1/profiles/${p.id}`, { password: PASSWORD });
    expect(pw.body.has_password).toBe(true);
    expect(pw.text).not.toContain(PASSWORD);
  });

  it('when PATCH sets an identifier another profile holds, then 409 naming that profile', async () => {
    const a = await createProfile({ attributes: { email: email('conf-a') } });
    const b = await createProfile({ attributes: { email: email('conf-b') } });
    const r = await call('PATCH', `/api/v1/profiles/${b.id}`, { attributes: { email: email('conf-a') } });
    expectProblem(r, 409, a.id);
  });

  it('when DELETE erases, then 204, and the profile then answers 404 to GET, PUT and DELETE', async () => {
    const p = await createProfile({ attributes: { email: email('del'), first_name: 'Del' } });
    const r = await call('DELETE', `/api/v1/profiles/${p.id}`);
    expect({ status: r.status, text: r.text }).toEqual({ status: 204, text: '' });
    await eventually(async () => ((await call('GET', `/api/v1/profiles/${p.id}`)).status === 404 ? true : undefined));
    expectProblem(await call('PUT', `/api/v1/profiles/${p.id}`, { attributes: { first_name: 'Back' } }), 404);
    expectProblem(await call('DELETE', `/api/v1/profiles/${p.id}`), 404);
  });

  it.each([
    ['PUT', UNKNOWN_ID],
    ['PATCH', UNKNOWN_ID],
    ['DELETE', UNKNOWN_ID],
    ['PUT', 'not-a-uuid'],
    ['PATCH', '12345'],
    ['DELETE', 'x'],
  ])('when %s names no profile (%s), then 404 problem+json', async (method, id) => {
    expectProblem(await call(method, `/api/v1/profiles/${id}`, method === 'DELETE' ? undefined : { attributes: { first_name: 'X' } }), 404);
  });
});

describe('given bad bodies', () => {
  it('when fields are unknown or invalid, then 422 with errors naming each field path', async () => {
    expect422(await call('POST', '/api/v1/profiles', { attributes: { email: email('v') }, nickname: 'x' }), ['nickname']);
    expect422(await call('POST', '/api/v1/profiles', { attributes: { email: 'not-an-email' } }), ['attributes.email']);
    expect422(await call('POST', '/api/v1/profiles', { attributes: { email: email('v') }, tags: ['ok', 7] }), ['tags[1]']);
    expect422(await call('POST', '/api/v1/profiles', { attributes: { first_name: 'x' }, contacts: [{ key: 'email', value: 'nope' }] }), ['contacts[0].value']);
    expect422(await call('POST', '/api/v1/profiles', { attributes: { email: email('v') }, status: 'deleted', password: 'short' }), ['status', 'password']);
    expect422(await call('POST', '/api/v1/profiles', { attributes: { first_name: 'No identifier' } }), ['attributes']);
    expect422(await call('POST', '/api/v1/profiles', [1, 2]), ['$']);
  });

  it('when the JSON is malformed, then 400 problem+json', async () => {
    expectProblem(await call('POST', '/api/v1/profiles', '{"attributes": {'), 400);
  });

  it('when a read or public key writes, then 403 and nothing is written', async () => {
    const created = await tesseraCli(server.dataDir, 'keys', 'create', '--tenant', 'default', '--kind', 'read');
    expect(created.code).toBe(0);
    for (const key of [created.stdout.trim(), server.publicKey]) {
      expectProblem(await call('POST', '/api/v1/profiles', { attributes: { email: email('ro') } }, key), 403);
      expectProblem(await call('DELETE', `/api/v1/profiles/${UNKNOWN_ID}`, undefined, key), 403);
    }
    expect((await call('GET', `/v3/profiles?email=${encodeURIComponent(email('ro'))}`)).status).toBe(404);
  });
});

describe('given a private key restricted to "eu" (restrictions limit reads, not writes)', () => {
  it('when it creates and changes a profile outside its restrictions, then the writes apply and answer the whole profile; its own reads of it are 404', async () => {
    const created = await call('POST', '/api/v1/tenants/default/keys', { kind: 'private', restrictions: ['eu'] }, ADMIN_KEY);
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    const r = await call('POST', '/api/v1/profiles', { attributes: { email: email('us'), restriction: 'us', first_name: 'Sam' } }, key);
    expect(r.status).toBe(201);
    expect(r.body.attributes).toMatchObject({ restriction: 'us', first_name: 'Sam' });
    const patched = await call('PATCH', `/api/v1/profiles/${r.body.id}`, { attributes: { city: 'Austin' } }, key);
    expect({ status: patched.status, city: patched.body.attributes.city }).toEqual({ status: 200, city: 'Austin' });
    expectProblem(await call('GET', `/api/v1/profiles/${r.body.id}`, undefined, key), 404);
    expect((await call('GET', `/api/v1/profiles/${r.body.id}`)).body.attributes.city).toBe('Austin');
  });
});

describe('given the contacts of a profile', () => {
  it('when one is added, changed and removed, then 201 with the contact, 200 with the NEW contact, 204; the old value no longer resolves', async () => {
    const p = await createProfile({ attributes: { email: email('c-main'), first_name: 'Con' } });
    const added = await call('POST', `/api/v1/profiles/${p.id}/contacts`, { key: 'email', value: email('C-Second') });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ contact_id: expect.any(String), key: 'email', value: email('c-second'), created_at: expect.stringMatching(ISO), updated_at: expect.stringMatching(ISO) });
    expect(added.location).toBe(`/api/v1/profiles/${p.id}/contacts/${added.body.contact_id}`);

    const changed = await call('PUT', `/api/v1/profiles/${p.id}/contacts/${added.body.contact_id}`, { key: 'email', value: email('c-third') });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ key: 'email', value: email('c-third') });
    expect(changed.body.contact_id).not.toBe(added.body.contact_id);
    expectProblem(await call('GET', `/api/v1/profiles/${p.id}/contacts/${added.body.contact_id}`), 404);
    expect((await call('GET', `/v3/profiles?email=${encodeURIComponent(email('c-second'))}`)).status).toBe(404);

    const patched = await call('PATCH', `/api/v1/profiles/${p.id}/contacts/${changed.body.contact_id}`, { value: email('c-fourth') });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ key: 'email', value: email('c-fourth') });

    // A contact PUT back as read changes nothing.
    const same = await call('PUT', `/api/v1/profiles/${p.id}/contacts/${patched.body.contact_id}`, patched.body);
    expect({ status: same.status, id: same.body.contact_id }).toEqual({ status: 200, id: patched.body.contact_id });

    const removed = await call('DELETE', `/api/v1/profiles/${p.id}/contacts/${patched.body.contact_id}`);
    expect({ status: removed.status, text: removed.text }).toEqual({ status: 204, text: '' });
    expect((await call('GET', `/v3/profiles?email=${encodeURIComponent(email('c-fourth'))}`)).status).toBe(404);
    const after = await call('GET', `/api/v1/profiles/${p.id}`);
    expect(after.body.contacts.map((c: any) => c.value)).toEqual([email('c-main')]);
  });

  it('when the contact belongs to another profile, then 409 naming that profile; unknown ones are 404; bad bodies 422', async () => {
    const owner = await createProfile({ attributes: { email: email('c-owner') } });
    const other = await createProfile({ attributes: { email: email('c-other') } });
    expectProblem(await call('POST', `/api/v1/profiles/${other.id}/contacts`, { key: 'email', value: email('c-owner') }), 409, owner.id);
    expectProblem(await call('POST', `/api/v1/profiles/${UNKNOWN_ID}/contacts`, { key: 'email', value: email('c-nobody') }), 404);
    expectProblem(await call('PUT', `/api/v1/profiles/${other.id}/contacts/AAAAAAAAAAAAAAAAAAAAAA`, { key: 'email', value: email('c-x') }), 404);
    expectProblem(await call('DELETE', `/api/v1/profiles/${other.id}/contacts/bad`), 404);
    expect422(await call('POST', `/api/v1/profiles/${other.id}/contacts`, { key: 'fax', value: '1', uuid: null }), ['uuid', 'key']);
  });
});

describe('given a server whose write wait is 0 ms (TESSERA_SYNC_WRITE_TIMEOUT_MS=0)', () => {
  let quick: SingleNode;

  beforeAll(async () => {
    quick = await startSingleNode({ env: { TESSERA_SYNC_WRITE_TIMEOUT_MS: '0' } });
  });

  afterAll(async () => {
    expect(await quick.stop()).toBe(0);
    quick.cleanup();
  });

  it('when a profile is created, then 202 with Location and {id, status: "pending"}, and the Location answers once applied', async () => {
    const r = await call('POST', '/api/v1/profiles', { attributes: { email: email('pending'), first_name: 'Later' } }, quick.privateKey, quick);
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ id: expect.stringMatching(UUID), status: 'pending' });
    expect(r.location).toBe(`/api/v1/profiles/${r.body.id}`);
    const applied = await eventually(async () => {
      const read = await call('GET', r.location!, undefined, quick.privateKey, quick);
      return read.status === 200 ? read.body : undefined;
    });
    expect(applied).toMatchObject({ id: r.body.id, attributes: { first_name: 'Later' } });
  });

  it('when a profile is patched and a contact added, then 202 too, with the Location of the profile and of the contact', async () => {
    const r = await call('POST', '/api/v1/profiles', { attributes: { email: email('pending2') } }, quick.privateKey, quick);
    await eventually(async () => ((await call('GET', r.location!, undefined, quick.privateKey, quick)).status === 200 ? true : undefined));
    const patched = await call('PATCH', r.location!, { attributes: { city: 'Later' } }, quick.privateKey, quick);
    expect({ status: patched.status, location: patched.location, body: patched.body }).toEqual({ status: 202, location: r.location, body: { id: r.body.id, status: 'pending' } });
    const added = await call('POST', `${r.location}/contacts`, { key: 'email', value: email('pending3') }, quick.privateKey, quick);
    expect(added.status).toBe(202);
    expect(added.body).toEqual({ id: r.body.id, contact_id: expect.any(String), status: 'pending' });
    expect(added.location).toBe(`${r.location}/contacts/${added.body.contact_id}`);
    const contact = await eventually(async () => {
      const read = await call('GET', added.location!, undefined, quick.privateKey, quick);
      return read.status === 200 ? read.body : undefined;
    });
    expect(contact).toMatchObject({ contact_id: added.body.contact_id, value: email('pending3') });
  });
});
