// Seed 000 ("Customers Profiles", ../shared/seeds/000_*) mapped to /api/v1 (DESIGN §12), over HTTP against
// the single-node server: create, update, delete, list and view a customer's profiles; one primary per
// customer; a unique username.
//
// Field mapping (seed 000 → /api/v1):
//   :customer / :profile (path)           → {customer} / {id}
//   email, username, wishlist             → attributes.email, attributes.username (an identifier: unique per
//                                           tenant, one per profile — a taken one → 409), attributes.wishlist (array)
//   attrset_id, primary_address_id, profile_type_id → attributes of the same names (integers)
//   is_primary                            → is_primary (beside `attributes`; the latest primary wins, the others read false)
//   status (active | closed)              → status (active | closed | suspended)
//   password (write-only)                 → password (8–128 characters, stricter than the seed's 1–100); has_password in the answer
//   password_confirm                      → password_confirm: must equal `password` (422 at `password_confirm` otherwise), never stored
//   view fields created_at, updated_at, has_password, is_primary, status, username, email, wishlist → the profile object
//   (`customer` top-level); attrset, is_placeholder, profile_type, reference, store_id are not modelled.
// The seed's `PUT /customers/:customer/profiles/` (no profile id) is not in DESIGN §12: updates name the profile.
import { eventually, SingleNode, startSingleNode } from '../support/single-node-server';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const tag = `s0${process.pid}`;
const CUSTOMER = `cust-${tag}`;
const OTHER_CUSTOMER = `other-${tag}`;

let server: SingleNode;

async function call(method: string, path: string, body?: unknown) {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.privateKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, location: r.headers.get('location'), text, body: text ? JSON.parse(text) : undefined };
}

const base = (customer = CUSTOMER) => `/api/v1/customers/${customer}/profiles`;

/** The seed's create fields, translated (see the mapping above). */
function seedCreate(username: string, isPrimary: boolean) {
  return {
    attributes: { email: `${username}@example.com`, username, wishlist: ['sku-1', 'sku-2'], attrset_id: 4, primary_address_id: 12, profile_type_id: 1 },
    is_primary: isPrimary,
    password: 'correct horse battery',
    password_confirm: 'correct horse battery',
    status: 'active',
  };
}

beforeAll(async () => {
  server = await startSingleNode();
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  server.cleanup();
});

let first: any;
let second: any;

describe('seed 000: create customer profiles (POST /customers/{customer}/profiles)', () => {
  it('when the seed\'s fields are posted, then 201 with the profile: customer, is_primary, username and wishlist as attributes, has_password', async () => {
    const r = await call('POST', base(), seedCreate(`mary.${tag}`, true));
    expect(r.status).toBe(201);
    first = r.body;
    expect(r.location).toBe(`${base()}/${first.id}`);
    expect(first).toMatchObject({
      customer: CUSTOMER,
      is_primary: true,
      status: 'active',
      enabled: true,
      has_password: true,
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
      attributes: { username: `mary.${tag}`, email: `mary.${tag}@example.com`, wishlist: ['sku-1', 'sku-2'], attrset_id: 4, primary_address_id: 12, profile_type_id: 1 },
    });
    expect(r.text).not.toContain('correct horse battery');
  });

  it('when a second profile is created primary, then it is the primary and the first one reads is_primary false', async () => {
    const r = await call('POST', base(), seedCreate(`john.${tag}`, true));
    expect(r.status).toBe(201);
    second = r.body;
    expect(second.is_primary).toBe(true);
    const firstNow = await call('GET', `${base()}/${first.id}`);
    expect(firstNow.body).toMatchObject({ customer: CUSTOMER, is_primary: false });
  });

  it('when the username is taken, then 409 naming the profile that holds it', async () => {
    const r = await call('POST', base(OTHER_CUSTOMER), seedCreate(`mary.${tag}`, false));
    expect(r.status).toBe(409);
    expect(r.body.detail).toContain(first.id);
  });

  it('when password_confirm differs or a field is unknown, then 422 naming it', async () => {
    const r = await call('POST', base(), { ...seedCreate(`ann.${tag}`, false), password_confirm: 'something else', store_id: 3 });
    expect(r.status).toBe(422);
    expect(r.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['password_confirm', 'store_id']);
  });
});

describe('seed 000: view customer profiles (GET)', () => {
  it('when the customer\'s profiles are listed, then both are there; one is viewed by id', async () => {
    const list = await call('GET', base());
    expect(list.status).toBe(200);
    expect(list.body.profiles.map((p: any) => p.id).sort()).toEqual([first.id, second.id].sort());
    const one = await call('GET', `${base()}/${second.id}`);
    expect(one.body).toMatchObject({ id: second.id, customer: CUSTOMER, is_primary: true, has_password: true });
  });
});

describe('seed 000: update customer profiles (PUT /customers/{customer}/profiles/{id})', () => {
  it('when the seed\'s update fields are PUT, then 200 with the profile; is_primary moves back to the first profile', async () => {
    const r = await call('PUT', `${base()}/${first.id}`, {
      attributes: { email: `mary.${tag}@example.com`, username: `mary.${tag}`, wishlist: ['sku-3'] },
      is_primary: true,
      status: 'closed',
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: first.id, customer: CUSTOMER, is_primary: true, status: 'closed', enabled: false, attributes: { wishlist: ['sku-3'] } });
    expect(r.body.attributes.attrset_id).toBeUndefined(); // PUT replaces: attributes left out are cleared
    expect((await call('GET', `${base()}/${second.id}`)).body.is_primary).toBe(false);
  });

  it('when what was read is PUT back (with its read-only `customer`), then 200 and nothing changes', async () => {
    const read = (await call('GET', `${base()}/${second.id}`)).body;
    const r = await call('PUT', `${base()}/${second.id}`, read);
    expect(r.status).toBe(200);
    expect(r.body.attributes).toEqual(read.attributes);
    expect(r.body).toMatchObject({ customer: CUSTOMER, is_primary: false, status: read.status, tags: read.tags });
  });

  it('when the profile is not that customer\'s, then 404', async () => {
    const r = await call('PUT', `${base(OTHER_CUSTOMER)}/${first.id}`, { attributes: { username: `mary.${tag}` } });
    expect(r.status).toBe(404);
  });
});

describe('seed 000: delete a customer profile (DELETE /customers/{customer}/profiles/{id})', () => {
  it('when the profile is another customer\'s, then 404 and it stays; when it is the customer\'s, then 204 and it is gone', async () => {
    expect((await call('DELETE', `${base(OTHER_CUSTOMER)}/${second.id}`)).status).toBe(404);
    expect((await call('GET', `${base()}/${second.id}`)).status).toBe(200);
    const r = await call('DELETE', `${base()}/${second.id}`);
    expect({ status: r.status, text: r.text }).toEqual({ status: 204, text: '' });
    await eventually(async () => ((await call('GET', `${base()}/${second.id}`)).status === 404 ? true : undefined));
    const list = await call('GET', base());
    expect(list.body.profiles.map((p: any) => p.id)).toEqual([first.id]);
  });
});
