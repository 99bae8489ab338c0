// Native API reads of one profile (DESIGN §12, seeds 000, 002, 004) over HTTP against the single-node
// server: the profile object, contacts, a merged-away id answering with its survivor, customers'
// profiles with one primary, tenant isolation and restricted keys.
import { Client } from 'pg';
import { contactIdOf } from '@tessera/contracts';
import { embeddedPostgresUrl } from '@tessera/store';
import { tesseraCli } from '../support/faults/cli';
import { ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const run = `rd${process.pid}`;

let server: SingleNode;
let client: ProfilesClient;
let db: Client;
let readKey: string;
let otherTenantKey: string;

interface Answer {
  status: number;
  contentType: string;
  headers: Headers;
  body: any;
}

async function get(path: string, key: string = readKey): Promise<Answer> {
  const r = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: r.status, contentType: r.headers.get('content-type') ?? '', headers: r.headers, body: await r.json().catch(() => undefined) };
}

function expectNotFound(r: Answer, instance: string) {
  expect(r.status).toBe(404);
  expect(r.contentType).toMatch(/^application\/problem\+json/);
  expect(r.body).toEqual({ type: expect.any(String), title: 'Not Found', status: 404, detail: expect.any(String), instance });
}

async function cli(...args: string[]): Promise<string> {
  const r = await tesseraCli(server.dataDir, ...args);
  expect({ code: r.code, stderr: r.code ? r.stderr : '' }).toEqual({ code: 0, stderr: '' });
  return r.stdout.trim();
}

/** Posts one /v3 upsert and waits until the look-up `query` finds it (with `predicate`): its zaius_id. */
async function upsert(attributes: Record<string, unknown>, query: string, predicate?: (p: Record<string, any>) => boolean): Promise<string> {
  expect((await client.post({ attributes })).status).toBe(202);
  return (await client.until(query, predicate, 60_000)).attributes.zaius_id;
}

/** System fields (DESIGN §12) set straight in the projection: the read side is under test, not the writes. */
async function setSystem(id: string, system: Record<string, unknown>, versions: Record<string, string[]> = {}) {
  await db.query(`UPDATE profiles SET attributes = attributes || $2::jsonb, attribute_versions = attribute_versions || $3::jsonb WHERE tenant = 'default' AND id = $1`, [
    id,
    JSON.stringify(system),
    JSON.stringify(versions),
  ]);
}

beforeAll(async () => {
  server = await startSingleNode();
  client = new ProfilesClient(server.url, server.publicKey, server.privateKey);
  readKey = await cli('keys', 'create', '--tenant', 'default', '--kind', 'read');
  await cli('tenants', 'create', 'othertenant');
  otherTenantKey = await cli('keys', 'create', '--tenant', 'othertenant', '--kind', 'private');
  db = new Client({ connectionString: embeddedPostgresUrl(server.dataDir, 'tessera') });
  await db.connect();
}, 180_000);

afterAll(async () => {
  await db?.end();
  expect(await server.stop()).toBe(0);
  server.cleanup();
});

describe('given a profile made by /v3 upserts (an email, a phone, attributes)', () => {
  const email = `mary.${run}@example.com`;
  let id: string;

  beforeAll(async () => {
    id = await upsert({ email, phone: '+1 (415) 555-0101', first_name: 'Mary', city: 'Boston' }, `email=${encodeURIComponent(email)}`);
  }, 120_000);

  it('when it is read by id, then the profile object of DESIGN §12 answers: status active, no tags, contacts, no password', async () => {
    const r = await get(`/api/v1/profiles/${id}`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      id,
      status: 'active',
      enabled: true,
      tags: [],
      // As stored: the latest value of each identifier too (contacts list every identifier).
      attributes: { email, phone: '+14155550101', first_name: 'Mary', city: 'Boston' },
      contacts: expect.any(Array),
      has_password: false,
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    });
    expect(r.body.contacts.map((c: any) => [c.key, c.value]).sort()).toEqual([
      ['email', email],
      ['phone', '+14155550101'],
    ]);
  });

  it('when its contacts are listed, then a JSON array of contact objects with stable contact ids answers', async () => {
    const r = await get(`/api/v1/profiles/${id}/contacts`);
    expect(r.status).toBe(200);
    expect(Array.isArray(r.body)).toBe(true);
    const byKey = Object.fromEntries(r.body.map((c: any) => [c.key, c]));
    expect(byKey.email).toEqual({
      contact_id: contactIdOf('default', 'email', email),
      key: 'email',
      value: email,
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
    });
    const one = await get(`/api/v1/profiles/${id}/contacts/${byKey.phone.contact_id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(byKey.phone);
  });

  it('when an unknown contact id, an unknown profile id or a non-UUID is read, then 404 problem+json', async () => {
    expectNotFound(await get(`/api/v1/profiles/${id}/contacts/nope`), `/api/v1/profiles/${id}/contacts/nope`);
    const unknown = '0190a4c2-7d1e-7b3a-9c55-2f4d8e6a1b20';
    expectNotFound(await get(`/api/v1/profiles/${unknown}`), `/api/v1/profiles/${unknown}`);
    expectNotFound(await get(`/api/v1/profiles/${unknown}/contacts`), `/api/v1/profiles/${unknown}/contacts`);
    expectNotFound(await get(`/api/v1/profiles/not-a-uuid`), `/api/v1/profiles/not-a-uuid`);
  });

  it('when another tenant reads its id, then 404 on every route (as if it did not exist)', async () => {
    expectNotFound(await get(`/api/v1/profiles/${id}`, otherTenantKey), `/api/v1/profiles/${id}`);
    expectNotFound(await get(`/api/v1/profiles/${id}/contacts`, otherTenantKey), `/api/v1/profiles/${id}/contacts`);
    const other = await get(`/api/v1/profiles?filter[email]=${encodeURIComponent(email)}`, otherTenantKey);
    expect(other.status).toBe(200);
    expect(other.body).toEqual({ profiles: [], total: 0, limit: 60, offset: 0, next: null });
  });

  it('when a status, tags and a password hash are set, then they answer as fields and never among attributes', async () => {
    await setSystem(id, { $status: 'suspended', $tags: ['blue', 'green'], $password: 'scrypt$fake' });
    const r = await get(`/api/v1/profiles/${id}`);
    expect(r.body).toMatchObject({ status: 'suspended', enabled: false, tags: ['blue', 'green'], has_password: true, attributes: { email, first_name: 'Mary', city: 'Boston' } });
    expect(Object.keys(r.body.attributes).filter((k) => k.startsWith('$'))).toEqual([]);
    await setSystem(id, { $status: 'active' });
  });
});

describe('given two profiles merged by an upsert that carries both their identifiers', () => {
  it('when the merged-away id is read, then the survivor answers (same body, the survivor id)', async () => {
    const phone = '+1 (415) 555-0199';
    const email = `merge.${run}@example.com`;
    const byPhone = await upsert({ phone, first_name: 'Phone' }, `phone=${encodeURIComponent(phone)}`);
    const byEmail = await upsert({ email, last_name: 'Email' }, `email=${encodeURIComponent(email)}`);
    expect(byPhone).not.toBe(byEmail);
    const survivor = await upsert({ email, phone }, `phone=${encodeURIComponent(phone)}`, (p) => p.attributes.last_name === 'Email' && p.attributes.first_name === 'Phone');
    const loser = survivor === byPhone ? byEmail : byPhone;
    const direct = await get(`/api/v1/profiles/${survivor}`);
    const viaLoser = await get(`/api/v1/profiles/${loser}`);
    expect(direct.status).toBe(200);
    expect(viaLoser.status).toBe(200);
    expect(viaLoser.body).toEqual(direct.body);
    expect(viaLoser.body.id).toBe(survivor);
    expect((await get(`/api/v1/profiles/${loser}/contacts`)).body).toEqual(direct.body.contacts);
    // The merged-away row is never listed; filter[zaius_id] with its id finds the survivor, as a look-up does.
    const listed = await get(`/api/v1/profiles?filter[phone]=${encodeURIComponent(phone)}`);
    expect(listed.body.profiles.map((p: any) => p.id)).toEqual([survivor]);
    const byLoserId = await get(`/api/v1/profiles?filter[zaius_id]=${loser.toUpperCase()}`);
    expect(byLoserId.body.profiles.map((p: any) => p.id)).toEqual([survivor]);
  }, 180_000);
});

describe('given a customer account with three profiles, two of them marked primary at different times', () => {
  const customer = `acme-${run}`;
  const ids: string[] = [];

  beforeAll(async () => {
    for (const n of [1, 2, 3]) ids.push(await upsert({ email: `c${n}.${run}@example.com`, first_name: `C${n}` }, `email=c${n}.${run}%40example.com`));
    ids.push(await upsert({ email: `outsider.${run}@example.com` }, `email=outsider.${run}%40example.com`));
    await setSystem(ids[0], { $customer: customer, $is_primary: true }, { [`1700000000000 ${run}-a`]: ['$is_primary'] });
    await setSystem(ids[1], { $customer: customer, $is_primary: true }, { [`1700000005000 ${run}-b`]: ['$is_primary'] });
    await setSystem(ids[2], { $customer: customer, $is_primary: false }, { [`1700000009000 ${run}-c`]: ['$is_primary'] });
    await setSystem(ids[3], { $customer: `other-${run}` });
  }, 180_000);

  it("when the customer's profiles are listed, then only its three answer, each with customer, the latest mark the one primary", async () => {
    const r = await get(`/api/v1/customers/${customer}/profiles`);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-total-count')).toBe('3');
    expect(r.body).toMatchObject({ total: 3, limit: 60, offset: 0, next: null });
    const primary = Object.fromEntries(r.body.profiles.map((p: any) => [p.id, [p.customer, p.is_primary]]));
    expect(primary).toEqual({ [ids[0]]: [customer, false], [ids[1]]: [customer, true], [ids[2]]: [customer, false] });
  });

  it("when one of them is read through the customer, then it answers; another customer's profile is 404 there", async () => {
    const r = await get(`/api/v1/customers/${customer}/profiles/${ids[1]}`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual((await get(`/api/v1/profiles/${ids[1]}`)).body);
    expect(r.body).toMatchObject({ id: ids[1], customer, is_primary: true });
    expectNotFound(await get(`/api/v1/customers/${customer}/profiles/${ids[3]}`), `/api/v1/customers/${customer}/profiles/${ids[3]}`);
    expectNotFound(await get(`/api/v1/customers/${customer}/profiles/${ids[0]}`, otherTenantKey), `/api/v1/customers/${customer}/profiles/${ids[0]}`);
  });

  it('when a profile without a customer is read, then it has no customer and no is_primary field', async () => {
    const email = `mary.${run}@example.com`;
    const r = await get(`/api/v1/profiles?filter[email]=${encodeURIComponent(email)}`);
    expect(r.body.profiles).toHaveLength(1);
    expect(r.body.profiles[0]).not.toHaveProperty('customer');
    expect(r.body.profiles[0]).not.toHaveProperty('is_primary');
  });
});

describe('given keys restricted to DE (seed 004 restrictions)', () => {
  let deKey: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    deKey = await cli('keys', 'create', '--tenant', 'default', '--kind', 'read', '--restrictions', 'DE,AT');
    for (const r of ['DE', 'AT', 'US']) ids[r] = await upsert({ email: `r${r}.${run}@example.com`, restriction: r, segment: `restricted-${run}` }, `email=r${r}.${run}%40example.com`);
  }, 180_000);

  it('when the restricted key lists, reads and counts, then it sees only profiles whose restriction is one of its restrictions', async () => {
    const listed = await get(`/api/v1/profiles?filter[segment]=restricted-${run}&sort=restriction`, deKey);
    expect(listed.status).toBe(200);
    expect(listed.body.profiles.map((p: any) => p.attributes.restriction)).toEqual(['AT', 'DE']);
    expect(listed.body.total).toBe(2);
    expect(listed.headers.get('x-total-count')).toBe('2');
    expect((await get(`/api/v1/profiles/${ids.DE}`, deKey)).status).toBe(200);
    expectNotFound(await get(`/api/v1/profiles/${ids.US}`, deKey), `/api/v1/profiles/${ids.US}`);
    expectNotFound(await get(`/api/v1/profiles/${ids.US}/contacts`, deKey), `/api/v1/profiles/${ids.US}/contacts`);
    // Profiles without a restriction attribute are outside every restriction.
    const all = await get(`/api/v1/profiles?limit=500`, deKey);
    expect(all.body.profiles.every((p: any) => ['DE', 'AT'].includes(p.attributes.restriction))).toBe(true);
  });

  it('when the unrestricted key lists the same, then it sees all three', async () => {
    const listed = await get(`/api/v1/profiles?filter[segment]=restricted-${run}`);
    expect(listed.body.total).toBe(3);
  });
});
