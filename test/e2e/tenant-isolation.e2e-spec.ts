// Issue 5 §3: a key of tenant A can never read or write tenant B's profiles. Complements
// tenants-cli.e2e-spec.ts (same email in two tenants, email and zaius_id look-ups across tenants) with:
// every identifier type, writes aimed at the other tenant's profile by zaius_id, tenant hints in the
// body, query or headers, two keys at once, and both tenants using the same identifier values.
import { rawRequest } from '../support/faults/http';
import { tesseraCli } from '../support/faults/cli';
import { ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

let server: SingleNode;
/** Tenant A: the default tenant. */
let a: ProfilesClient;
/** Tenant B: created with the CLI. */
let b: ProfilesClient;
const tag = `iso${process.pid}`;
const TENANT_B = 'globex';

/** The identifiers of one person, the same values used in both tenants. */
const person = {
  email: `shared.${tag}@example.com`,
  phone: `+1 617 ${String(process.pid).padStart(7, '0').slice(-7)}`,
  customer_id: `C-${tag}`,
  vuid: `device-${tag}`,
};
const lookups = {
  email: `email=${encodeURIComponent(person.email)}`,
  phone: `phone=${encodeURIComponent(person.phone)}`,
  customer_id: `customer_id=${encodeURIComponent(person.customer_id)}`,
  vuid: `vuid=${encodeURIComponent(person.vuid)}`,
};
/** Identifiers only tenant A ever used. */
const onlyA = {
  email: `only-a.${tag}@example.com`,
  phone: `+44 20 ${String(process.pid).padStart(8, '0').slice(-8)}`,
  customer_id: `A-only-${tag}`,
  vuid: `a-device-${tag}`,
};
/** Identifiers only tenant B ever used (until A writes them in its own tenant). */
const onlyB = { email: `only-b.${tag}@example.com`, customer_id: `B-only-${tag}`, vuid: `b-device-${tag}` };
let aSharedId: string;
let bSharedId: string;
let aOnlyId: string;

beforeAll(async () => {
  server = await startSingleNode();
  a = new ProfilesClient(server.url, server.publicKey, server.privateKey);
  expect((await tesseraCli(server.dataDir, 'tenants', 'create', TENANT_B)).code).toBe(0);
  const bPublic = (await tesseraCli(server.dataDir, 'keys', 'create', '--tenant', TENANT_B, '--kind', 'public')).stdout.trim();
  const bPrivate = (await tesseraCli(server.dataDir, 'keys', 'create', '--tenant', TENANT_B, '--kind', 'private')).stdout.trim();
  b = new ProfilesClient(server.url, bPublic, bPrivate);

  expect((await a.post({ attributes: { ...person, owner: 'A', secret: 'a-secret' } })).status).toBe(202);
  expect((await b.post({ attributes: { ...person, owner: 'B', secret: 'b-secret' } })).status).toBe(202);
  expect((await a.post({ attributes: { ...onlyA, owner: 'A' } })).status).toBe(202);
  expect((await b.post({ attributes: { ...onlyB, owner: 'B' } })).status).toBe(202);
  aSharedId = (await a.until(lookups.email, (p) => p.attributes.owner === 'A')).attributes.zaius_id;
  bSharedId = (await b.until(lookups.email, (p) => p.attributes.owner === 'B')).attributes.zaius_id;
  aOnlyId = (await a.until(`email=${encodeURIComponent(onlyA.email)}`)).attributes.zaius_id;
}, 90_000);

afterAll(async () => {
  expect(await server.stop('SIGTERM')).toBe(0);
  server.cleanup();
});

describe('given two tenants with people of the same identifiers', () => {
  it('then they are two different profiles, each tenant finding its own by every identifier type', async () => {
    expect(aSharedId).not.toBe(bSharedId);
    for (const [type, q] of Object.entries(lookups)) {
      const fromA = await a.get(q);
      const fromB = await b.get(q);
      expect({ type, a: fromA.body.attributes.owner, b: fromB.body.attributes.owner }).toEqual({ type, a: 'A', b: 'B' });
      expect(fromA.body.attributes.zaius_id).toBe(aSharedId);
      expect(fromB.body.attributes.zaius_id).toBe(bSharedId);
      expect(fromB.body.attributes.secret).toBe('b-secret');
    }
  });

  it("then B's private key finds none of A's people: by each identifier type and by zaius_id, 404", async () => {
    for (const [type, value] of Object.entries(onlyA)) {
      const r = await b.get(`${type}=${encodeURIComponent(value)}`);
      expect({ type, status: r.status }).toEqual({ type, status: 404 });
      expect(JSON.stringify(r.body)).not.toContain(aOnlyId);
    }
    for (const id of [aOnlyId, aSharedId, aSharedId.toUpperCase(), ` ${aSharedId} `]) {
      expect((await b.get(`zaius_id=${encodeURIComponent(id)}`)).status).toBe(404);
    }
    // And the other way round.
    expect((await a.get(`zaius_id=${bSharedId}`)).status).toBe(404);
  });

  it("then B's public key cannot read at all, not even B's own people", async () => {
    for (const q of [lookups.email, `zaius_id=${bSharedId}`]) {
      expect(await b.get(q, b.publicKey)).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
    }
  });

  it("when B writes with A's zaius_id, then A's profile does not change and B gets no access to it", async () => {
    for (const key of [b.publicKey, b.privateKey]) {
      const r = await b.post({ attributes: { zaius_id: aOnlyId, owner: 'B-hijack', secret: 'stolen' } }, key);
      expect([202, 400]).toContain(r.status);
    }
    const r = await b.post({ attributes: { zaius_id: aSharedId, email: `hijack.${tag}@example.com`, owner: 'B-hijack' } });
    expect([202, 400]).toContain(r.status);
    await settle(b, 'b1');
    await settle(a, 'a1');
    const aOnly = await a.get(`zaius_id=${aOnlyId}`);
    expect(aOnly.body.attributes).toMatchObject({ owner: 'A', email: onlyA.email });
    expect(aOnly.body.attributes).not.toHaveProperty('secret');
    const aShared = await a.get(lookups.email);
    expect(aShared.body.attributes).toMatchObject({ owner: 'A', secret: 'a-secret', zaius_id: aSharedId });
    expect(aShared.body.identifiers.email).toEqual([person.email]);
    // B's look-ups of those ids never show A's data (a zaius_id B wrote names a profile of B's own, if any).
    for (const id of [aOnlyId, aSharedId]) {
      const fromB = await b.get(`zaius_id=${id}`);
      if (fromB.status === 200) {
        expect(fromB.body.attributes.owner).not.toBe('A');
        expect(JSON.stringify(fromB.body)).not.toMatch(new RegExp(`a-secret|${onlyA.email.replace(/\./g, '\\.')}|${person.email.replace(/\./g, '\\.')}`));
      } else {
        expect(fromB.status).toBe(404);
      }
    }
    expect((await b.get(`email=${encodeURIComponent(onlyA.email)}`)).status).toBe(404);
  });

  it("when A writes to the shared identifiers, then B's profile does not change", async () => {
    expect((await a.post({ attributes: { ...person, owner: 'A2', secret: 'a-secret-2' } })).status).toBe(202);
    await a.until(lookups.email, (p) => p.attributes.owner === 'A2');
    await settle(b, 'b2');
    for (const q of Object.values(lookups)) {
      const fromB = await b.get(q);
      expect(fromB.body.attributes).toMatchObject({ owner: 'B', secret: 'b-secret', zaius_id: bSharedId });
    }
    // Identifiers that exist only in B, written by A together with A's people: no link, no merge across tenants.
    const bOnlyBefore = (await b.until(`customer_id=${onlyB.customer_id}`)).attributes;
    expect((await a.post([
      { attributes: { email: person.email, vuid: onlyB.vuid, owner: 'A3' } },
      { attributes: { email: onlyB.email, customer_id: onlyB.customer_id, owner: 'A4' } },
    ])).status).toBe(202);
    await a.until(`customer_id=${onlyB.customer_id}`, (p) => p.attributes.owner === 'A4');
    await settle(b, 'b2b');
    const bOnlyAfter = await b.get(`vuid=${onlyB.vuid}`);
    expect(bOnlyAfter.body.attributes).toEqual(bOnlyBefore);
    expect(bOnlyAfter.body.identifiers).toEqual({ customer_id: [onlyB.customer_id], email: [onlyB.email], vuid: [onlyB.vuid] });
    expect((await b.get(lookups.email)).body.attributes.zaius_id).toBe(bSharedId);
  });

  it('when a request names the other tenant in the body, the query or a header, then it is refused or ignored', async () => {
    // In the body: an item has only `attributes`.
    const inBody = await a.post({ tenant: TENANT_B, attributes: { email: person.email, owner: 'A-as-B' } });
    expect(inBody.status).toBe(400);
    // A `tenant` attribute is just an attribute of A's own profile.
    expect((await a.post({ attributes: { email: `attr.${tag}@example.com`, tenant: TENANT_B } })).status).toBe(202);
    await a.until(`email=${encodeURIComponent(`attr.${tag}@example.com`)}`);
    expect((await b.get(`email=${encodeURIComponent(`attr.${tag}@example.com`)}`)).status).toBe(404);
    // In the query: not an identifier type.
    expect((await a.get(`email=${encodeURIComponent(onlyA.email)}&tenant=${TENANT_B}`)).status).toBe(400);
    expect((await b.get(`tenant=default&email=${encodeURIComponent(onlyA.email)}`)).status).toBe(400);
    // In headers: no effect on whose data is read.
    for (const h of ['x-tenant', 'x-tenant-id', 'tenant']) {
      const r = await rawRequest(server.url, { path: `/v3/profiles?${lookups.email}`, headers: { 'x-api-key': b.privateKey, [h]: 'default' } });
      expect({ h, owner: r.json?.attributes?.owner }).toEqual({ h, owner: 'B' });
      const onlyAFromB = await rawRequest(server.url, { path: `/v3/profiles?email=${encodeURIComponent(onlyA.email)}`, headers: { 'x-api-key': b.privateKey, [h]: 'default' } });
      expect(onlyAFromB.status).toBe(404);
    }
    await settle(b, 'b3');
    expect((await b.get(lookups.email)).body.attributes.owner).toBe('B');
  });

  it('when two keys of different tenants are presented at once, then 403', async () => {
    for (const keys of [[b.privateKey, server.privateKey], [server.privateKey, b.privateKey]]) {
      const r = await rawRequest(server.url, { path: `/v3/profiles?${lookups.email}`, headers: { 'x-api-key': keys } });
      expect(r.status).toBe(403);
      expect(r.json).toEqual({ message: 'Forbidden' });
    }
    const combined = await rawRequest(server.url, { path: `/v3/profiles?${lookups.email}`, headers: { 'x-api-key': `${b.privateKey}, ${server.privateKey}` } });
    expect(combined.status).toBe(403);
  });
});

describe('given the tenant administration routes (issue 11, seed 004)', () => {
  const adminKey = () => /admin key: +(\S+)/.exec(server.output())![1];
  const send = (method: string, path: string, key: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json().catch(() => undefined)) as any }));

  it("when B's keys call any /api/v1/tenants route, for A's tenant or its own, then 403 and nothing changes", async () => {
    for (const tenant of ['default', TENANT_B]) {
      for (const [method, path, body] of [
        ['GET', '/api/v1/tenants', undefined],
        ['POST', '/api/v1/tenants', { name: `via${tenant}` }],
        ['GET', `/api/v1/tenants/${tenant}`, undefined],
        ['PATCH', `/api/v1/tenants/${tenant}`, { default_region: 'DE' }],
        ['POST', `/api/v1/tenants/${tenant}/keys`, { kind: 'private' }],
        ['GET', `/api/v1/tenants/${tenant}/keys`, undefined],
        ['DELETE', `/api/v1/tenants/${tenant}/keys/${server.privateKey.slice(0, 12)}`, undefined],
      ] as Array<[string, string, unknown]>) {
        for (const key of [b.privateKey, b.publicKey]) expect({ method, path, status: (await send(method, path, key, body)).status }).toEqual({ method, path, status: 403 });
      }
    }
    expect((await a.get(lookups.email)).status).toBe(200); // A's key still works
    expect((await send('GET', `/api/v1/tenants/${TENANT_B}`, adminKey())).body.default_region).toBeNull();
  });

  it("when the admin makes a restricted key for B, then it reads only B's profiles of that restriction, never A's of the same restriction", async () => {
    expect((await a.post({ attributes: { email: `restricted.${tag}@example.com`, restriction: 'EU', owner: 'A' } })).status).toBe(202);
    expect((await b.post({ attributes: { email: `restricted.${tag}@example.com`, restriction: 'EU', owner: 'B' } })).status).toBe(202);
    await a.until(`email=${encodeURIComponent(`restricted.${tag}@example.com`)}`);
    await b.until(`email=${encodeURIComponent(`restricted.${tag}@example.com`)}`);
    const created = await send('POST', `/api/v1/tenants/${TENANT_B}/keys`, adminKey(), { kind: 'read', restrictions: ['EU'] });
    expect(created.status).toBe(201);
    const scoped = new ProfilesClient(server.url, created.body.key, created.body.key);
    const found = await scoped.get(`email=${encodeURIComponent(`restricted.${tag}@example.com`)}`);
    expect(found.body.attributes.owner).toBe('B');
    expect((await scoped.get(`zaius_id=${aOnlyId}`)).status).toBe(404);
    expect((await scoped.get(lookups.email)).status).toBe(404); // B's own, but without the restriction
    // A's key listing shows none of B's keys; B's listing none of A's.
    const aPrefixes = (await send('GET', '/api/v1/tenants/default/keys', adminKey())).body.keys.map((k: { prefix: string }) => k.prefix);
    expect(aPrefixes).not.toContain(created.body.prefix);
    const bKeys = (await send('GET', `/api/v1/tenants/${TENANT_B}/keys`, adminKey())).body.keys;
    expect(bKeys.every((k: { tenant: string }) => k.tenant === TENANT_B)).toBe(true);
  });
});

/** Posts a sentinel for the tenant and waits until it is applied (the worker caught up). */
async function settle(client: ProfilesClient, name: string): Promise<void> {
  const email = `settle.${name}.${tag}@example.com`;
  expect((await client.post({ attributes: { email } })).status).toBe(202);
  await client.until(`email=${encodeURIComponent(email)}`);
}
