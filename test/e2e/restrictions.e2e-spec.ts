// Seed 004's restrictions (DESIGN §12): a key made with `restrictions` reads only profiles whose
// `restriction` attribute is one of them — /v3 look-ups, /api/v1 list, get, contacts, customers'
// profiles; a profile outside them (or without one) answers 404 like a missing one. Restrictions limit
// reads, not writes. /v3 look-ups never answer the native API's `$`-named system attributes.
import { eventually, ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

let server: SingleNode;
let adminKey: string;
const keys: Record<'de' | 'defr' | 'open' | 'dePrivate', string> = { de: '', defr: '', open: '', dePrivate: '' };
const tag = `r${process.pid}`;
const email = (who: string) => `${who}.${tag}@example.com`;
/** Profiles by their restriction ('none': no restriction attribute). */
const ids: Record<'DE' | 'FR' | 'US' | 'none', string> = { DE: '', FR: '', US: '', none: '' };
const customer = `cust-${tag}`;

async function call(method: string, path: string, key: string, body?: unknown) {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, headers: r.headers, body: (await r.json().catch(() => undefined)) as any };
}

const lookUp = (who: string, key: string) => new ProfilesClient(server.url, key, key).get(`email=${encodeURIComponent(email(who))}`);

beforeAll(async () => {
  server = await startSingleNode();
  adminKey = /admin key: +(\S+)/.exec(server.output())![1];
  const make = async (kind: string, restrictions?: string[]) => {
    const r = await call('POST', '/api/v1/tenants/default/keys', adminKey, { kind, ...(restrictions ? { restrictions } : {}) });
    expect(r.status).toBe(201);
    return r.body.key as string;
  };
  keys.de = await make('read', ['DE']);
  keys.defr = await make('read', ['DE', 'FR']);
  keys.open = await make('read');
  keys.dePrivate = await make('private', ['DE']);
  const client = new ProfilesClient(server.url, server.publicKey, server.privateKey);
  for (const r of ['DE', 'FR', 'US'] as const) expect((await client.post({ attributes: { email: email(r), restriction: r, first_name: r, batch: tag } })).status).toBe(202);
  expect((await client.post({ attributes: { email: email('none'), first_name: 'None', batch: tag } })).status).toBe(202);
  for (const r of ['DE', 'FR', 'US', 'none'] as const) ids[r] = (await client.until(`email=${encodeURIComponent(email(r))}`)).attributes.zaius_id;
}, 90_000);

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  server.cleanup();
});

describe('given keys restricted to DE, to DE and FR, and an unrestricted one', () => {
  it('when they look profiles up on /v3 (by email and by zaius_id), then each sees exactly its restrictions; others are 404 like a missing profile', async () => {
    const sees = async (key: string) => {
      const out: string[] = [];
      for (const r of ['DE', 'FR', 'US', 'none'] as const) {
        const byEmail = await lookUp(r, key);
        const byId = await new ProfilesClient(server.url, key, key).get(`zaius_id=${ids[r]}`);
        expect({ r, byId: byId.status }).toEqual({ r, byId: byEmail.status });
        if (byEmail.status === 200) out.push(r);
        else {
          expect(byEmail.status).toBe(404);
          // The same answer as for an email nobody has.
          expect(byEmail.body).toMatchObject({ title: 'Not Found', status: 404, detail: { message: `Unable to find profile for email = ${email(r).toLowerCase()}` } });
          expect(JSON.stringify(byEmail.body)).not.toContain(ids[r]);
        }
      }
      return out;
    };
    expect(await sees(keys.de)).toEqual(['DE']);
    expect(await sees(keys.defr)).toEqual(['DE', 'FR']);
    expect(await sees(keys.open)).toEqual(['DE', 'FR', 'US', 'none']);
    expect(await sees(keys.dePrivate)).toEqual(['DE']);
  });

  it('when a DE-restricted private key writes a US profile, then the write is accepted (restrictions limit reads) but it cannot read it back', async () => {
    const client = new ProfilesClient(server.url, keys.dePrivate, keys.dePrivate);
    expect((await client.post({ attributes: { email: email('written-us'), restriction: 'US' } })).status).toBe(202);
    const open = new ProfilesClient(server.url, keys.open, keys.open);
    await open.until(`email=${encodeURIComponent(email('written-us'))}`);
    expect((await lookUp('written-us', keys.dePrivate)).status).toBe(404);
    // Moving it into DE makes it visible.
    expect((await client.post({ attributes: { email: email('written-us'), restriction: 'DE' } })).status).toBe(202);
    await eventually(async () => ((await lookUp('written-us', keys.dePrivate)).status === 200 ? true : undefined));
  });

  it('when a native write sets status and tags, then the /v3 look-up answers no `$`-named attribute', async () => {
    const created = await call('POST', '/api/v1/profiles', server.privateKey, { attributes: { email: email('native'), first_name: 'Nat' }, status: 'suspended', tags: ['vip'], password: 'correct horse battery' });
    expect([201, 202]).toContain(created.status);
    const found = await new ProfilesClient(server.url, keys.open, keys.open).until(`email=${encodeURIComponent(email('native'))}`);
    expect(found.attributes.first_name).toBe('Nat');
    expect(Object.keys(found.attributes).filter((k) => k.startsWith('$'))).toEqual([]);
  });
});

describe('given the native API reads (/api/v1)', () => {
  it('when a restricted key lists profiles, then only its restrictions are listed and counted', async () => {
    const listed = async (key: string) => {
      const r = await call('GET', `/api/v1/profiles?filter[batch]=${tag}&limit=500`, key);
      expect(r.status).toBe(200);
      expect(r.body.total).toBe(r.body.profiles.length);
      expect(r.headers.get('x-total-count')).toBe(String(r.body.total));
      return r.body.profiles.map((p: { id: string }) => p.id);
    };
    expect(await listed(keys.de)).toEqual([ids.DE]);
    expect((await listed(keys.defr)).sort()).toEqual([ids.DE, ids.FR].sort());
    expect((await listed(keys.open)).sort()).toEqual([ids.DE, ids.FR, ids.US, ids.none].sort());
  });

  it('when a restricted key reads a profile, its contacts or its events by id, then outside its restrictions 404', async () => {
    for (const [r, want] of [['DE', 200], ['FR', 404], ['US', 404], ['none', 404]] as const) {
      const profile = await call('GET', `/api/v1/profiles/${ids[r]}`, keys.de);
      const contacts = await call('GET', `/api/v1/profiles/${ids[r]}/contacts`, keys.de);
      const events = await call('GET', `/api/v1/profiles/${ids[r]}/events`, keys.de);
      expect({ r, profile: profile.status, contacts: contacts.status, events: events.status }).toEqual({ r, profile: want, contacts: want, events: want });
      if (want === 404) expect(profile.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    expect((await call('GET', `/api/v1/profiles/${ids.US}`, keys.open)).status).toBe(200);
    expect((await call('GET', `/api/v1/profiles/${ids.US}/events`, keys.open)).status).toBe(200);
  });

  it("when a restricted key reads a customer's profiles, then only those of its restrictions", async () => {
    for (const r of ['DE', 'US'] as const) {
      const created = await call('POST', `/api/v1/customers/${customer}/profiles`, server.privateKey, { attributes: { email: email(`cust-${r}`), restriction: r } });
      expect([201, 202]).toContain(created.status);
    }
    const list = async (key: string) => {
      const r = await call('GET', `/api/v1/customers/${customer}/profiles`, key);
      expect(r.status).toBe(200);
      return r.body.profiles.map((p: { attributes: { restriction?: string } }) => p.attributes.restriction).sort();
    };
    expect(await eventually(async () => ((await list(keys.open)).length === 2 ? true : undefined))).toBe(true);
    expect(await list(keys.de)).toEqual(['DE']);
    expect(await list(keys.defr)).toEqual(['DE']);
  });
});
