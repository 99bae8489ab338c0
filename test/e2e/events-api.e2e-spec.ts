// POST /v3/events (DESIGN §10) over HTTP against the single-node server, as an SDK sees it.
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { embeddedPostgresUrl } from '@tessera/store';
import { rawRequest, RawResponse } from '../support/faults/http';
import { eventually, ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

let server: SingleNode;
let api: ProfilesClient;
const tag = `ev${process.pid}`;

function postEvents(body: unknown, key: string | null = server.publicKey, headers: Record<string, string> = {}): Promise<RawResponse> {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return rawRequest(server.url, {
    method: 'POST',
    path: '/v3/events',
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...(key ? { 'x-api-key': key } : {}), ...headers },
    body: payload,
  });
}

/** The event an Optimizely SDK posts when it identifies a visitor (issue 10). */
function sdkEvent(vuid: string, fsUserId: string, idempotenceId: string = randomUUID()) {
  return {
    type: 'fullstack',
    action: 'identified',
    identifiers: { vuid, fs_user_id: fsUserId },
    data: { idempotence_id: idempotenceId, data_source_type: 'sdk', data_source: 'javascript-sdk', data_source_version: '1.2.3' },
  };
}

/** Declares a custom identifier type (POST /v3/schema/identifiers); the server's rules may be cached for a few seconds. */
async function declareIdentifier(name: string, confidence: 'high' | 'low'): Promise<void> {
  const r = await rawRequest(server.url, {
    method: 'POST',
    path: '/v3/schema/identifiers',
    headers: { 'content-type': 'application/json', 'x-api-key': server.privateKey },
    body: JSON.stringify({ name, display_name: name, merge_confidence: confidence, messaging: false }),
  });
  expect(r.status).toBe(201);
}

function expect202(r: RawResponse) {
  expect({ status: r.status, text: r.status === 202 ? '' : r.text }).toEqual({ status: 202, text: '' });
  expect(r.json).toEqual({ title: 'Accepted', status: 202, timestamp: expect.stringMatching(ISO) });
}

/** 400 listing the invalid items: `detail.invalids[{event, message}]`, each message naming the field. */
function expectInvalids(r: RawResponse, expected: Array<[number, string | RegExp]>) {
  expect(r.status).toBe(400);
  expect(r.json).toEqual({ title: 'Bad Request', status: 400, timestamp: expect.stringMatching(ISO), detail: { invalids: expect.any(Array) } });
  const invalids = r.json.detail.invalids as Array<{ event: number; message: string }>;
  expect(invalids.map((i) => i.event)).toEqual(expected.map(([e]) => e));
  invalids.forEach((inv, i) => {
    const field = expected[i][1];
    if (typeof field === 'string') expect(inv.message).toContain(field);
    else expect(inv.message).toMatch(field);
  });
}

function expectBodyError(r: RawResponse, pattern?: RegExp) {
  expect(r.status).toBe(400);
  expect(r.json).toEqual({ title: 'Bad Request', status: 400, timestamp: expect.stringMatching(ISO), detail: { message: expect.any(String) } });
  if (pattern) expect(r.json.detail.message).toMatch(pattern);
}

beforeAll(async () => {
  server = await startSingleNode();
  api = new ProfilesClient(server.url, server.publicKey, server.privateKey);
  await declareIdentifier('fs_user_id', 'high');
  // The server sees the new type within its rules cache's refresh (≤ 5 s).
  await eventually(async () => ((await postEvents(sdkEvent(`warm-${tag}`, `warm-${tag}`))).status === 202 ? true : undefined), 20_000, 250);
});

afterAll(async () => {
  expect(await server.stop('SIGTERM')).toBe(0);
  server.cleanup();
});

describe('given the SDK shape', () => {
  it('when one event is posted with a public key, then 202 {title, status, timestamp}', async () => {
    expect202(await postEvents(sdkEvent(`v1-${tag}`, `u1-${tag}`)));
  });

  it('when a batch of 10 is posted with a private key, then 202', async () => {
    expect202(await postEvents(Array.from({ length: 10 }, (_, i) => sdkEvent(`v-batch-${i}-${tag}`, `u-batch-${i}-${tag}`)), server.privateKey));
  });

  it('when an event has every optional part (no action, data.ts in each format, email and phone), then 202', async () => {
    expect202(
      await postEvents([
        { type: 'order', identifiers: { email: `opt.${tag}@example.com` }, data: { ts: Math.floor(Date.now() / 1000) - 60, total: 9.5, paid: true, note: null } },
        { type: 'order', action: 'purchase', identifiers: { phone: '555-867-5309' }, data: { ts: Date.now() - 60_000 } },
        { type: 'page', action: 'view', identifiers: { vuid: `opt-${tag}` }, data: { ts: '2024-05-01T12:00:00+02:00' } },
        { type: 'page', identifiers: { customer_id: 12345 } },
      ]),
    );
  });
});

describe('given no or a wrong API key', () => {
  it.each([
    ['no key', null],
    ['an unknown key', 'tpk_not-a-key'],
  ])('when posted with %s, then 403 {"message":"Forbidden"}', async (_what, key) => {
    const r = await postEvents(sdkEvent('v', 'u'), key);
    expect({ status: r.status, json: r.json }).toEqual({ status: 403, json: { message: 'Forbidden' } });
  });
});

describe('given invalid events (DESIGN §10: 400 naming the field and the item index)', () => {
  const good = () => sdkEvent(`ok-${randomUUID()}`, `ok-${randomUUID()}`);
  it.each<[string, unknown, string | RegExp]>([
    ['no type', { identifiers: { vuid: 'v' } }, 'Missing required field `type`'],
    ['an upper-case type', { type: 'Fullstack', identifiers: { vuid: 'v' } }, '`type` must be a string matching ^[a-z][a-z0-9_]{0,63}$'],
    ['a type with a dash', { type: 'add-to-cart', identifiers: { vuid: 'v' } }, '`type`'],
    ['an action that is not a name', { type: 'order', action: 'Add To Cart', identifiers: { vuid: 'v' } }, '`action`'],
    ['an action as a number', { type: 'order', action: 1, identifiers: { vuid: 'v' } }, '`action`'],
    ['no identifiers', { type: 'order' }, 'Missing required field `identifiers`'],
    ['identifiers as an array', { type: 'order', identifiers: ['v'] }, '`identifiers` must be an object'],
    ['empty identifiers', { type: 'order', identifiers: {} }, '`identifiers` must hold at least one identifier'],
    ['only blocked identifier values', { type: 'order', identifiers: { vuid: 'anonymous', email: 'null' } }, '`identifiers` must hold at least one identifier'],
    ['an unknown identifier type', { type: 'order', identifiers: { vuid: 'v', loyalty_no: 'L1' } }, /^`identifiers.loyalty_no` is not an identifier type of this tenant/],
    ['an invalid email', { type: 'order', identifiers: { email: 'nope' } }, '`identifiers.email` must look like an email address'],
    ['an impossible phone', { type: 'order', identifiers: { phone: '555-1234' } }, '`identifiers.phone` must be a possible phone number'],
    ['a zaius_id that is not a UUID', { type: 'order', identifiers: { zaius_id: 'z1' } }, '`identifiers.zaius_id` must be a UUID'],
    ['a customer_id with a fraction', { type: 'order', identifiers: { customer_id: 1.5 } }, '`identifiers.customer_id`'],
    ['a vuid of 256 characters', { type: 'order', identifiers: { vuid: 'v'.repeat(256) } }, '`identifiers.vuid`'],
    ['a nested data object', { type: 'order', identifiers: { vuid: 'v' }, data: { cart: { total: 1 } } }, '`data.cart`'],
    ['a data array', { type: 'order', identifiers: { vuid: 'v' }, data: { skus: ['a'] } }, '`data.skus`'],
    ['a data string over 8 KiB', { type: 'order', identifiers: { vuid: 'v' }, data: { note: 'x'.repeat(8193) } }, '`data.note`'],
    ['a data name that is not an attribute name', { type: 'order', identifiers: { vuid: 'v' }, data: { 'Total Price': 1 } }, '`data` field name `Total Price`'],
    ['data as a string', { type: 'order', identifiers: { vuid: 'v' }, data: 'x' }, '`data` must be an object'],
    ['data.ts that is not a time', { type: 'order', identifiers: { vuid: 'v' }, data: { ts: 'yesterday' } }, '`data.ts`'],
    ['data.ts two hours ahead', { type: 'order', identifiers: { vuid: 'v' }, data: { ts: Date.now() + 7_200_000 } }, /^`data.ts` is more than 1 hour after/],
    ['an empty idempotence_id', { type: 'order', identifiers: { vuid: 'v' }, data: { idempotence_id: '' } }, '`data.idempotence_id`'],
    ['an idempotence_id of 256 characters', { type: 'order', identifiers: { vuid: 'v' }, data: { idempotence_id: 'i'.repeat(256) } }, '`data.idempotence_id`'],
    ['an unknown top-level field', { type: 'order', identifiers: { vuid: 'v' }, attributes: {} }, 'unknown field `attributes`'],
    ['an item that is a string', 'order', 'item must be an object'],
  ])('when item 1 of 3 has %s, then 400 names it at index 1', async (_what, bad, field) => {
    expectInvalids(await postEvents([good(), bad, good()]), [[1, field]]);
  });

  it('when a single object is invalid, then it is item 0', async () => {
    expectInvalids(await postEvents({ type: 'order', identifiers: { nope_id: 'x' } }), [[0, '`identifiers.nope_id`']]);
  });

  it('when several items are invalid, then every one is listed', async () => {
    expectInvalids(await postEvents([{ type: 'X', identifiers: { vuid: 'v' } }, good(), 7, { type: 'o', identifiers: { vuid: 'v' }, data: { a: [] } }]), [
      [0, '`type`'],
      [2, 'item must be an object'],
      [3, '`data.a`'],
    ]);
  });

  it.each([
    ['an empty array', '[]', /empty/],
    ['501 items', JSON.stringify(Array.from({ length: 501 }, () => ({ type: 'o', identifiers: { vuid: 'v' } }))), /got 501 items \(limit 500\)/],
    ['a string', '"event"', /object or an array of 1 to 500/],
    ['null', 'null', /object or an array of 1 to 500/],
    ['malformed JSON', '[{"type": "order",', undefined],
    ['an empty body', '', undefined],
  ])('when the body is %s, then 400 with detail.message', async (_what, body, pattern) => {
    expectBodyError(await postEvents(body), pattern);
  });

  it('when the body is not JSON, then 415', async () => {
    const r = await postEvents('type=order', server.publicKey, { 'content-type': 'text/plain' });
    expect(r.status).toBe(415);
    expect(r.json).toMatchObject({ title: 'Unsupported Media Type', status: 415 });
  });

  it('when the body is over the limit, then 413', async () => {
    const big = JSON.stringify([{ type: 'order', identifiers: { vuid: 'v' }, data: { blob: 'x'.repeat(5 * 1024 * 1024) } }]);
    const r = await postEvents(big);
    expect(r.status).toBe(413);
    expect(r.json).toMatchObject({ title: 'Payload Too Large', status: 413 });
  });
});

describe('given events whose identifiers the projector resolves (DESIGN §10: like an upsert)', () => {
  const query = (type: string, value: string) => `${type}=${encodeURIComponent(value)}`;

  it('when an event names a new vuid and a new fs_user_id, then one profile holds both', async () => {
    const vuid = `link-v-${tag}`;
    const user = `link-u-${tag}`;
    expect202(await postEvents(sdkEvent(vuid, user)));
    const byUser = await api.until(query('fs_user_id', user));
    const byVuid = await api.until(query('vuid', vuid));
    expect(byVuid.attributes.zaius_id).toBe(byUser.attributes.zaius_id);
    expect(byUser.identifiers).toMatchObject({ vuid: [vuid], fs_user_id: [user] });
  });

  it('when an event links an anonymous vuid profile to a known customer, then the anonymous profile merges into the known one', async () => {
    const vuid = `merge-v-${tag}`;
    const email = `merge.${tag}@example.com`;
    expect((await api.post({ attributes: { vuid, first_name: 'Anon' } })).status).toBe(202);
    expect((await api.post({ attributes: { email, last_name: 'Known' } })).status).toBe(202);
    const anon = await api.until(query('vuid', vuid));
    const known = await api.until(query('email', email));
    expect(anon.attributes.zaius_id).not.toBe(known.attributes.zaius_id);
    // An event of the anonymous visitor before the merge.
    expect202(await postEvents({ type: 'pageview', identifiers: { vuid }, data: { page: '/pricing' } }));
    await eventually(async () => ((await profileEvents(anon.attributes.zaius_id)).length === 1 ? true : undefined));

    expect202(await postEvents({ type: 'order', action: 'purchase', identifiers: { vuid, email }, data: { total: 10 } }));
    const merged = await api.until(query('vuid', vuid), (p) => p.attributes.zaius_id === known.attributes.zaius_id);
    // The known profile survives; attributes of both sides are kept; the event's data is not an attribute.
    expect(merged.attributes).toMatchObject({ first_name: 'Anon', last_name: 'Known' });
    expect(merged.attributes).not.toHaveProperty('total');
    expect((await api.get(query('zaius_id', anon.attributes.zaius_id))).body.attributes.zaius_id).toBe(known.attributes.zaius_id);
    // Events follow their profile on a merge: the survivor lists both, newest first.
    const events = await eventually(async () => {
      const list = await profileEvents(known.attributes.zaius_id);
      return list.length === 2 ? list : undefined;
    });
    expect(events.map((e: any) => `${e.type}:${e.action}`)).toEqual(['order:purchase', 'pageview:null']);
  });

  it('when one item of a batch is invalid, then none is published (all-or-nothing)', async () => {
    const user = `aon-u-${tag}`;
    const vuid = `aon-v-${tag}`;
    expectInvalids(await postEvents([sdkEvent(vuid, user), { type: 'Bad', identifiers: { fs_user_id: user } }]), [[1, '`type`']]);
    // A later event of the same person shares the partition: once it is applied, the refused batch would have been too.
    expect202(await postEvents({ type: 'marker', identifiers: { fs_user_id: user } }));
    const profile = await api.until(query('fs_user_id', user));
    expect(profile.identifiers.vuid).toBeUndefined();
    expect((await api.get(query('vuid', vuid))).status).toBe(404);
  });

  it('when an SDK retries a batch of 10 that was answered 202, then each event is stored once and identities merge once', async () => {
    const batch = Array.from({ length: 10 }, (_, i) => sdkEvent(`retry-v-${i}-${tag}`, `retry-u-${i % 5}-${tag}`));
    expect202(await postEvents(batch));
    expect202(await postEvents(batch)); // the SDK retry: same body, same idempotence ids

    // Two vuids per user id: 5 profiles, each holding its 2 vuids.
    const profiles = await Promise.all(
      Array.from({ length: 5 }, (_, u) =>
        api.until(query('fs_user_id', `retry-u-${u}-${tag}`), (p) => (p.identifiers?.vuid ?? []).length === 2),
      ),
    );
    expect(new Set(profiles.map((p) => p.attributes.zaius_id)).size).toBe(5);
    for (const [i, e] of batch.entries()) {
      expect((await api.get(query('vuid', e.identifiers.vuid))).body.attributes.zaius_id).toBe(profiles[i % 5].attributes.zaius_id);
    }
    // A marker per user after the retry shares its partition (same high-confidence identifier): once the
    // markers are stored, both copies of the batch have been applied or skipped.
    const markers = Array.from({ length: 5 }, (_, u) => ({ type: 'marker', identifiers: { fs_user_id: `retry-u-${u}-${tag}` }, data: { idempotence_id: randomUUID() } }));
    expect202(await postEvents(markers));
    await eventually(async () => ((await countEvents(markers.map((m) => m.data.idempotence_id))).total === 5 ? true : undefined));

    const ids = batch.map((e) => e.data.idempotence_id);
    expect(await countEvents(ids)).toEqual({ total: 10, distinct: 10 });
    // Read as a client does (GET /api/v1/profiles/{id}/events): each profile lists its 2 events once, as posted.
    for (const [u, p] of profiles.entries()) {
      const events = (await profileEvents(p.attributes.zaius_id)).filter((e: any) => ids.includes(e.data?.idempotence_id));
      const posted = batch.filter((_, i) => i % 5 === u);
      expect(events).toHaveLength(2);
      expect(events.map((e: any) => e.data.idempotence_id).sort()).toEqual(posted.map((e) => e.data.idempotence_id).sort());
      for (const e of events) {
        const sent = posted.find((x) => x.data.idempotence_id === e.data.idempotence_id)!;
        expect(e).toEqual({ id: expect.any(String), type: 'fullstack', action: 'identified', ts: expect.stringMatching(ISO), identifiers: sent.identifiers, data: sent.data });
      }
    }
  });
});

/** Stored events carrying these idempotence ids, through the server's database. */
async function countEvents(idempotenceIds: string[]): Promise<{ total: number; distinct: number }> {
  const db = new Client({ connectionString: embeddedPostgresUrl(server.dataDir, 'tessera') });
  await db.connect();
  try {
    const { rows } = await db.query(
      `SELECT count(*)::int AS total, count(DISTINCT data->>'idempotence_id')::int AS distinct
         FROM profile_events WHERE data->>'idempotence_id' = ANY($1::text[])`,
      [idempotenceIds],
    );
    return rows[0];
  } finally {
    await db.end();
  }
}

/** GET /api/v1/profiles/{id}/events (DESIGN §10, §12) with the private key: the events, newest first. */
async function profileEvents(profileId: string): Promise<any[]> {
  const r = await rawRequest(server.url, { path: `/api/v1/profiles/${profileId}/events`, headers: { 'x-api-key': server.privateKey } });
  expect(r.status).toBe(200);
  return r.json.events;
}

describe('given a tenant over its rate limit (one bucket for profiles and events)', () => {
  let limited: SingleNode;
  const post = (path: string, body: unknown) =>
    rawRequest(limited.url, {
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json', 'x-api-key': limited.publicKey },
      body: JSON.stringify(body),
    });
  const events = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ type: 'page', identifiers: { vuid: `${tag}-${i}` } }));

  beforeAll(async () => {
    // 50 items/s, burst 100: each event costs one item, as each upserted profile does.
    limited = await startSingleNode({ env: { TESSERA_RATE_LIMIT: '50', TESSERA_RATE_BURST: '100' } });
  });

  afterAll(async () => {
    expect(await limited.stop('SIGTERM')).toBe(0);
    limited.cleanup();
  });

  it('when a batch of 100 events empties the bucket, then the next events and profiles get 429 with Retry-After', async () => {
    expect((await post('/v3/events', events(100, 'rl-a'))).status).toBe(202);
    const r = await post('/v3/events', events(60, 'rl-b'));
    expect(r.status).toBe(429);
    expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(r.json).toMatchObject({ title: 'Too Many Requests', status: 429 });
    expect((await post('/v3/profiles', Array.from({ length: 60 }, (_, i) => ({ attributes: { vuid: `rl-c-${i}` } })))).status).toBe(429);
  });

  it('when the tenant waits for Retry-After, then it may post events again', async () => {
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await post('/v3/events', events(20, 'rl-d'))).status).toBe(202);
  });
});
