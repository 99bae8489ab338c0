// Seed 002 ("Profiles", ../shared/seeds/002_*) mapped to /api/v1 (DESIGN §12), over HTTP against the
// single-node server: every operation the seed lists — list, get, add, update (PUT and PATCH), delete
// profiles; list, get, add, update, delete contacts — with the seed's example bodies translated field
// by field.
//
// Field mapping (seed 002 camelCase → /api/v1 snake_case):
//   profileId → id;  createTime / updateTime → created_at / updated_at;  enabled → status
//   (true → "active", false → "suspended"; `enabled` itself is read-only);  tags → tags;
//   firstName / middleName / lastName → attributes.first_name / middle_name / last_name;
//   countryNumericCode → attributes.country_numeric_code;  uuid → attributes.uuid;
//   contacts[] {key, value, uuid} → contacts[] {key, value} (a contact has no uuid: `"uuid": null` is left out);
//   contactId → contact_id.  Derived read fields of the seed (`name`, the `country` object) are not stored.
// Query mapping: sort_by=createTime → sort_by=created_at; filter[enabled]=1 → filter[status]=active;
//   filter[firstName] → filter[first_name] (and likewise for the other names).
// Paths: [base]/profiles → /api/v1/profiles (the seed's `PUT [base]/profile/{id}` is its typo for /profiles/{id}).
import { SingleNode, startSingleNode } from '../support/single-node-server';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const tag = `s2${process.pid}`;

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

// "Add a new profile": the seed's example body, translated.
const seedCreate = {
  contacts: [
    { key: 'email', value: `client.${tag}@email.com` },
    { key: 'phone', value: '9876543210' }, // the seed's "+9876543210" is no possible number (+98 is Iran's code); read as a US national number here
  ],
  attributes: { country_numeric_code: '840', first_name: 'Mary', middle_name: 'Jane', last_name: 'Smith', uuid: null },
  status: 'active', // "enabled": true
};

// "Update a profile": the seed's example body, translated.
const seedUpdate = {
  status: 'active', // "enabled": true
  attributes: { first_name: 'Mary', last_name: 'Smith', middle_name: 'Jane', country_numeric_code: '840', uuid: null },
};

let profileId: string;

beforeAll(async () => {
  server = await startSingleNode();
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  server.cleanup();
});

describe('seed 002: profiles', () => {
  it('POST /profiles with the seed\'s phone verbatim (+9876543210): 422 naming contacts[1].value (phones are E.164 and must be possible, DESIGN §5)', async () => {
    const r = await call('POST', '/api/v1/profiles', { ...seedCreate, contacts: [seedCreate.contacts[0], { key: 'phone', value: '+9876543210' }] });
    expect(r.status).toBe(422);
    expect(r.body.errors).toEqual([{ field: 'contacts[1].value', message: expect.stringContaining('possible phone number') }]);
  });

  it('POST /profiles (add a new profile): 201 with the profile object and its contacts', async () => {
    const r = await call('POST', '/api/v1/profiles', seedCreate);
    expect(r.status).toBe(201);
    profileId = r.body.id;
    expect(r.location).toBe(`/api/v1/profiles/${profileId}`);
    expect(r.body).toMatchObject({
      status: 'active',
      enabled: true,
      tags: [],
      attributes: { country_numeric_code: '840', first_name: 'Mary', middle_name: 'Jane', last_name: 'Smith' },
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    });
    expect(r.body.contacts.map((c: any) => [c.key, c.value]).sort()).toEqual([
      ['email', `client.${tag}@email.com`],
      ['phone', '+19876543210'],
    ]);
    for (const c of r.body.contacts) expect(c).toEqual({ contact_id: expect.any(String), key: c.key, value: c.value, created_at: expect.stringMatching(ISO), updated_at: expect.stringMatching(ISO) });
  });

  it('GET /profiles (list, with the seed\'s paging, sorting and filters translated): the profile is listed', async () => {
    const query = 'limit=10&offset=0&sort_by=created_at&sort_order=desc&filter[status]=active&filter[first_name]=Mary&filter[last_name]=Smith&filter[middle_name]=Jane';
    const r = await call('GET', `/api/v1/profiles?${query}`);
    expect(r.status).toBe(200);
    expect(r.body.profiles.map((p: any) => p.id)).toContain(profileId);
  });

  it('GET /profiles/{id} (profile details): the profile object', async () => {
    const r = await call('GET', `/api/v1/profiles/${profileId}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: profileId, enabled: true, attributes: { first_name: 'Mary' } });
  });

  it('PUT /profiles/{id} (update a profile, the seed\'s body): 200 with the updated profile; PATCH (the seed\'s alternative verb) merges', async () => {
    const put = await call('PUT', `/api/v1/profiles/${profileId}`, seedUpdate);
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ id: profileId, status: 'active', enabled: true, attributes: { first_name: 'Mary', last_name: 'Smith', middle_name: 'Jane', country_numeric_code: '840' } });
    const patch = await call('PATCH', `/api/v1/profiles/${profileId}`, { status: 'suspended', tags: ['blue', 'green'] }); // "enabled": false
    expect(patch.status).toBe(200);
    expect(patch.body).toMatchObject({ enabled: false, tags: ['blue', 'green'], attributes: { first_name: 'Mary' } });
  });
});

describe('seed 002: contacts', () => {
  let contactId: string;

  it('POST /profiles/{id}/contacts (add a new contact, the seed\'s body): 201 with the contact object', async () => {
    const r = await call('POST', `/api/v1/profiles/${profileId}/contacts`, { key: 'email', value: `client2.${tag}@email.com` });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ contact_id: expect.any(String), key: 'email', value: `client2.${tag}@email.com`, created_at: expect.stringMatching(ISO), updated_at: expect.stringMatching(ISO) });
    contactId = r.body.contact_id;
  });

  it('GET /profiles/{id}/contacts (list) and /contacts/{contact_id} (details)', async () => {
    const list = await call('GET', `/api/v1/profiles/${profileId}/contacts`);
    expect(list.status).toBe(200);
    expect(list.body.map((c: any) => c.contact_id)).toContain(contactId);
    const one = await call('GET', `/api/v1/profiles/${profileId}/contacts/${contactId}`);
    expect(one.body).toMatchObject({ contact_id: contactId, key: 'email' });
  });

  it('PUT /profiles/{id}/contacts/{contact_id} (update a contact, the seed\'s body): 200 with the new contact; PATCH too', async () => {
    const put = await call('PUT', `/api/v1/profiles/${profileId}/contacts/${contactId}`, { key: 'email', value: `client3.${tag}@email.com` });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ key: 'email', value: `client3.${tag}@email.com` });
    const patch = await call('PATCH', `/api/v1/profiles/${profileId}/contacts/${put.body.contact_id}`, { value: `client4.${tag}@email.com` });
    expect(patch.status).toBe(200);
    expect(patch.body).toMatchObject({ key: 'email', value: `client4.${tag}@email.com` });
    contactId = patch.body.contact_id;
  });

  it('DELETE /profiles/{id}/contacts/{contact_id} (delete a contact): 204, no body; it is no longer listed', async () => {
    const r = await call('DELETE', `/api/v1/profiles/${profileId}/contacts/${contactId}`);
    expect({ status: r.status, text: r.text }).toEqual({ status: 204, text: '' });
    const list = await call('GET', `/api/v1/profiles/${profileId}/contacts`);
    expect(list.body.map((c: any) => c.contact_id)).not.toContain(contactId);
  });
});

describe('seed 002: delete a profile', () => {
  it('DELETE /profiles/{id}: 204, no body; the profile is then 404', async () => {
    const r = await call('DELETE', `/api/v1/profiles/${profileId}`);
    expect({ status: r.status, text: r.text }).toEqual({ status: 204, text: '' });
    const deadline = Date.now() + 15_000;
    let status = 200;
    while (Date.now() < deadline && (status = (await call('GET', `/api/v1/profiles/${profileId}`)).status) !== 404) await new Promise((r) => setTimeout(r, 100));
    expect(status).toBe(404);
  });
});
