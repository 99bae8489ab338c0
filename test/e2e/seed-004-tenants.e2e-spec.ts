// Seed 004 (tenants, restrictions, paging) mapped onto DESIGN §12: the tenant in lower case
// (^[a-z][a-z0-9]+$, created with the admin key), its scoped keys ("Needed to retrieve / manage
// customer profiles" → read / private keys), and each operation the document lists — list with `q`,
// `sort`, `pageNumber` + `pageSize`; create (with `restriction`, password, preferences); get by id;
// update (PUT); partial update (PATCH); delete — with "Reading: users can only query and view customers
// with the restriction value that matches one of their authorized restrictions".
import { eventually, SingleNode, startSingleNode } from '../support/single-node-server';

let server: SingleNode;
let adminKey: string;
/** "Needed to manage customer profiles": a private key of the tenant. */
let manage: string;
/** "Needed to retrieve customer profiles": a read key; and one restricted to DE. */
let retrieve: string;
let retrieveDe: string;
const TENANT = 'emporix4';
const ids: string[] = [];

async function call(method: string, path: string, key: string, body?: unknown) {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, headers: r.headers, body: (await r.json().catch(() => undefined)) as any };
}

beforeAll(async () => {
  server = await startSingleNode();
  adminKey = /admin key: +(\S+)/.exec(server.output())![1];
}, 90_000);

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  server.cleanup();
});

describe('seed 004: the tenant and its keys', () => {
  it('"The tenant should always be written in lowercase" (^[a-z][a-z0-9]+$): an upper-case name is 400, a lower-case one 201', async () => {
    expect((await call('POST', '/api/v1/tenants', adminKey, { name: 'Emporix4' })).status).toBe(400);
    expect((await call('POST', '/api/v1/tenants', adminKey, { name: TENANT })).status).toBe(201);
  });

  it('"Needed to manage / retrieve customer profiles": a private key, a read key and a read key restricted to DE', async () => {
    const make = async (body: unknown) => {
      const r = await call('POST', `/api/v1/tenants/${TENANT}/keys`, adminKey, body);
      expect(r.status).toBe(201);
      return r.body.key as string;
    };
    manage = await make({ kind: 'private' });
    retrieve = await make({ kind: 'read' });
    retrieveDe = await make({ kind: 'read', restrictions: ['DE'] });
    const listed = (await call('GET', `/api/v1/tenants/${TENANT}/keys`, adminKey)).body.keys;
    expect(listed.map((k: { kind: string; restrictions: string[] }) => [k.kind, k.restrictions])).toEqual([['private', []], ['read', []], ['read', ['DE']]]);
    // "Unauthorized" / "Given authorization scopes are not sufficient".
    expect((await call('GET', '/api/v1/profiles', 'tsk_nobody')).status).toBe(401);
    expect((await call('POST', '/api/v1/profiles', retrieve, { attributes: { email: 'x@example.com' } })).status).toBe(403);
  });
});

describe('seed 004: customer profiles of the tenant', () => {
  it('create: "Access control identifier" restriction, initial password, preferred language/currency/site → 201', async () => {
    const people = [
      { email: 'anna@example.com', first_name: 'Anna', restriction: 'DE', preferred_language: 'de_DE', preferred_currency: 'EUR', preferred_site: 'main' },
      { email: 'bob@example.com', first_name: 'Bob', restriction: 'US', preferred_language: 'en_US', preferred_currency: 'USD', preferred_site: 'main' },
      { email: 'carl@example.com', first_name: 'Carl', restriction: 'DE', preferred_language: 'de_DE', preferred_currency: 'EUR', preferred_site: 'outlet' },
    ];
    for (const attributes of people) {
      const r = await call('POST', '/api/v1/profiles', manage, { attributes, password: 'initial-password-1' });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ status: 'active', enabled: true, has_password: true, attributes: { restriction: attributes.restriction } });
      expect(JSON.stringify(r.body)).not.toContain('initial-password-1');
      ids.push(r.body.id);
    }
  });

  it('list: `q` (contactEmail → email:<value>), `sort` field:desc, `pageNumber` + `pageSize`', async () => {
    const byEmail = await call('GET', `/api/v1/profiles?q=${encodeURIComponent('email:bob@example.com')}`, retrieve);
    expect(byEmail.body.profiles.map((p: { id: string }) => p.id)).toEqual([ids[1]]);
    const page1 = await call('GET', '/api/v1/profiles?sort=first_name:desc&pageNumber=1&pageSize=2', retrieve);
    const page2 = await call('GET', '/api/v1/profiles?sort=first_name:desc&pageNumber=2&pageSize=2', retrieve);
    expect([...page1.body.profiles, ...page2.body.profiles].map((p: { attributes: { first_name: string } }) => p.attributes.first_name)).toEqual(['Carl', 'Bob', 'Anna']);
    expect(page1.body.total).toBe(3);
    expect(page1.headers.get('x-total-count')).toBe('3');
    // "Request was syntactically incorrect": a bad page is 400 naming the parameter.
    const bad = await call('GET', '/api/v1/profiles?pageNumber=0&pageSize=2', retrieve);
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toContain('pageNumber');
  });

  it('list and get with a DE-restricted key: only customers whose restriction is DE; the US one is 404', async () => {
    const listed = await call('GET', '/api/v1/profiles?sort=first_name', retrieveDe);
    expect(listed.body.profiles.map((p: { attributes: { first_name: string } }) => p.attributes.first_name)).toEqual(['Anna', 'Carl']);
    expect(listed.body.total).toBe(2);
    expect((await call('GET', `/api/v1/profiles/${ids[0]}`, retrieveDe)).status).toBe(200);
    expect((await call('GET', `/api/v1/profiles/${ids[1]}`, retrieveDe)).status).toBe(404);
    expect((await call('GET', `/api/v1/profiles/${ids[1]}`, retrieve)).status).toBe(200);
  });

  it('update (PUT) and partial update (PATCH): a profile moved out of DE disappears for the DE key', async () => {
    const current = (await call('GET', `/api/v1/profiles/${ids[2]}`, retrieve)).body;
    const put = await call('PUT', `/api/v1/profiles/${ids[2]}`, manage, { ...current, attributes: { ...current.attributes, preferred_site: 'main' } });
    expect(put.status).toBe(200);
    expect(put.body.attributes.preferred_site).toBe('main');
    const patch = await call('PATCH', `/api/v1/profiles/${ids[2]}`, manage, { attributes: { restriction: 'FR' } });
    expect(patch.status).toBe(200);
    expect(patch.body.attributes).toMatchObject({ restriction: 'FR', preferred_site: 'main', first_name: 'Carl' });
    expect((await call('GET', `/api/v1/profiles/${ids[2]}`, retrieveDe)).status).toBe(404);
  });

  it('delete: 204, then "Customer with the specified customerNumber doesn\'t exist" (404)', async () => {
    expect((await call('DELETE', `/api/v1/profiles/${ids[1]}`, manage)).status).toBe(204);
    // The erasure (§11) may finish after the 204: the profile is gone within seconds.
    const deletedAt = Date.now();
    await eventually(async () => ((await call('GET', `/api/v1/profiles/${ids[1]}`, retrieve)).status === 404 ? true : undefined), 15_000, 100);
    console.log(`seed 004 delete: GET answers 404 ${Date.now() - deletedAt} ms after the 204`);
    expect((await call('GET', '/api/v1/profiles', retrieve)).body.total).toBe(2);
  });

  it("another tenant's keys see none of it (tenant isolation)", async () => {
    for (const id of ids) expect((await call('GET', `/api/v1/profiles/${id}`, server.privateKey)).status).toBe(404);
    const mine = await call('GET', `/api/v1/profiles?q=${encodeURIComponent('email:anna@example.com')}`, server.privateKey);
    expect(mine.body.total).toBe(0);
  });
});
