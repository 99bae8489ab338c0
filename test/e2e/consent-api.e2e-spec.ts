// Consent (DESIGN §11) over HTTP against the single-node server: POST /v3/consent → consent.v1 records
// applied by the projector; GET /v3/consent/{identifier_field_name}?id= answers the latest by
// consent_update_ts whatever the arrival order; the Zaius shapes for 202, 400 and 403.
import { Client } from 'pg';
import { PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { embeddedPostgresUrl } from '@tessera/store';
import { tesseraCli } from '../support/faults/cli';
import { eventually, SingleNode, startSingleNode } from '../support/single-node-server';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
let server: SingleNode;
let readKey: string;
const tag = `c${process.pid}`;

beforeAll(async () => {
  server = await startSingleNode();
  const created = await tesseraCli(server.dataDir, 'keys', 'create', '--tenant', 'default', '--kind', 'read');
  expect(created.code).toBe(0);
  readKey = created.stdout.trim();
  expect(readKey).toMatch(/^trk_/);
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  server.cleanup();
});

async function call(method: 'GET' | 'POST', path: string, key: string | null, body?: unknown) {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(key ? { 'x-api-key': key } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, headers: r.headers, body: (await r.json().catch(() => undefined)) as any };
}

const post = (body: unknown, key: string | null = server.publicKey) => call('POST', '/v3/consent', key, body);
const get = (type: string, value: string, key: string | null = readKey) => call('GET', `/v3/consent/${type}?id=${encodeURIComponent(value)}`, key);

/** The consent once `predicate` holds (the projector applies records asynchronously). */
function until(type: string, value: string, predicate: (view: Record<string, unknown>) => boolean) {
  return eventually(async () => {
    const r = await get(type, value);
    return r.status === 200 && predicate(r.body) ? (r.body as Record<string, unknown>) : undefined;
  }, 20_000);
}

/** Resolves once the projector's checkpoints have passed every record on the log (the server's own PostgreSQL). */
async function projectorCaughtUp(): Promise<void> {
  const db = new Client({ connectionString: embeddedPostgresUrl(server.dataDir, 'tessera') });
  await db.connect();
  try {
    await eventually(async () => {
      const behind = await db.query(
        `SELECT count(*)::int AS n FROM log_partitions p
          WHERE p.topic = $1 AND p.next_offset > COALESCE((SELECT max(c.next_offset) FROM consumer_offsets c WHERE c.topic = p.topic AND c.partition = p.partition), 0)`,
        [PROFILE_UPSERTS_TOPIC],
      );
      return behind.rows[0].n === 0 ? true : undefined;
    }, 20_000);
  } finally {
    await db.end();
  }
}

function expectAccepted(r: { status: number; body: any }) {
  expect(r).toMatchObject({ status: 202 });
  expect(r.body).toEqual({ title: 'Accepted', status: 202, timestamp: expect.stringMatching(ISO) });
}

describe('given a consent posted with a public key', () => {
  it('when it is read back (read key), then it is the normalised identifier with the consent, reason and ts in epoch seconds', async () => {
    expectAccepted(await post({ identifier_field_name: 'email', identifier_value: ` Ann.${tag}@Example.COM `, consent: true, consent_update_reason: 'signup form', consent_update_ts: 1767225600 }));
    const view = await until('email', `ann.${tag}@example.com`, (v) => v.consent !== null);
    expect(view).toEqual({
      identifier_field_name: 'email',
      identifier_value: `ann.${tag}@example.com`,
      consent: true,
      consent_update_reason: 'signup form',
      consent_update_ts: 1767225600,
    });
    // The look-up normalises too, and a private key reads as well.
    expect((await get('email', `ANN.${tag}@example.com`, server.privateKey)).body).toEqual(view);
  });

  it('when newer consent arrives first and older after it, then the newer stays (latest consent_update_ts wins)', async () => {
    const email = `bob.${tag}@example.com`;
    expectAccepted(await post([{ identifier_field_name: 'email', identifier_value: email, consent: false, consent_update_reason: 'unsubscribed', consent_update_ts: 1767312000 }]));
    await until('email', email, (v) => v.consent === false);
    expectAccepted(await post([{ identifier_field_name: 'email', identifier_value: email, consent: true, consent_update_reason: 'stale opt-in', consent_update_ts: 1767225600 }]));
    await projectorCaughtUp(); // the stale record has been applied
    expect((await get('email', email)).body).toEqual({
      identifier_field_name: 'email',
      identifier_value: email,
      consent: false,
      consent_update_reason: 'unsubscribed',
      consent_update_ts: 1767312000,
    });
  });

  it('when a batch mixes identifier types (a custom one included), then each identifier has its own consent; no ts means now', async () => {
    const declared = await call('POST', '/v3/schema/identifiers', server.privateKey, { name: 'fs_user_id', display_name: 'FS User ID', merge_confidence: 'high', messaging: false });
    expect([201, 400]).toContain(declared.status); // 400: declared by an earlier run of this file on the same server
    const before = Date.now();
    // The tenant's rules are cached for up to 5 s: until then fs_user_id is unknown (400).
    await eventually(async () => {
      const r = await post([
        { identifier_field_name: 'phone', identifier_value: '+1 (415) 555-0134', consent: false },
        { identifier_field_name: 'fs_user_id', identifier_value: `fs-${tag}`, consent: true, event_data: { page: '/prefs' } },
      ]);
      return r.status === 202 ? r : undefined;
    }, 10_000, 500);
    const phone = await until('phone', '+14155550134', (v) => v.consent !== null);
    expect(phone).toMatchObject({ identifier_value: '+14155550134', consent: false, consent_update_reason: null });
    expect(phone.consent_update_ts as number).toBeGreaterThanOrEqual(Math.floor(before / 1000) - 1);
    expect(await until('fs_user_id', `fs-${tag}`, (v) => v.consent !== null)).toMatchObject({ consent: true });
    // The same value under another type is another identifier.
    expect((await get('vuid', `fs-${tag}`)).body).toMatchObject({ consent: null });
  });
});

describe('given an identifier nobody gave consent for', () => {
  it('then GET answers 200 with consent, reason and ts null', async () => {
    expect(await get('email', `nobody.${tag}@example.com`)).toMatchObject({
      status: 200,
      body: { identifier_field_name: 'email', identifier_value: `nobody.${tag}@example.com`, consent: null, consent_update_reason: null, consent_update_ts: null },
    });
  });
});

describe('given bad input', () => {
  it('when any item is invalid, then 400 lists every invalid item by index naming the field, and nothing of the batch is applied', async () => {
    const email = `cy.${tag}@example.com`;
    const r = await post([
      { identifier_field_name: 'email', identifier_value: email, consent: false, consent_update_ts: 1767398400 },
      { identifier_field_name: 'fax', identifier_value: '1', consent: true },
      { identifier_field_name: 'email', identifier_value: 'not-an-email', consent: true },
      { identifier_field_name: 'email', identifier_value: email, consent: 'yes' },
      { identifier_field_name: 'email', identifier_value: email, consent: true, consent_update_ts: 'soon' },
      { identifier_field_name: 'email', identifier_value: email, consent: true, consent_update_reason: 'x'.repeat(1025) },
    ]);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ title: 'Bad Request', status: 400, timestamp: expect.stringMatching(ISO), detail: { invalids: expect.any(Array) } });
    const invalids = r.body.detail.invalids as Array<{ event: number; message: string }>;
    expect(invalids.map((i) => i.event)).toEqual([1, 2, 3, 4, 5]);
    expect(invalids[0].message).toContain('`identifier_field_name`');
    expect(invalids[1].message).toContain('`identifier_value`');
    expect(invalids[2].message).toContain('`consent`');
    expect(invalids[3].message).toContain('`consent_update_ts`');
    expect(invalids[4].message).toContain('`consent_update_reason`');
    // Item 0 (consent false, newest) was not published: an older consent true posted now wins.
    expectAccepted(await post({ identifier_field_name: 'email', identifier_value: email, consent: true, consent_update_ts: 1767225600 }));
    expect(await until('email', email, (v) => v.consent !== null)).toMatchObject({ consent: true, consent_update_ts: 1767225600 });
  });

  it.each([
    ['an empty array', [], 'empty'],
    ['101 items', new Array(101).fill({ identifier_field_name: 'email', identifier_value: 'a@example.com', consent: true }), 'limit 100'],
    ['a string', '"consent"', 'body must be'],
  ])('when the body is %s, then 400 with detail.message', async (_what, body, message) => {
    const r = await post(body);
    expect(r).toMatchObject({ status: 400, body: { title: 'Bad Request', status: 400, detail: { message: expect.stringContaining(message) } } });
  });

  it('when the JSON is malformed, then 400', async () => {
    expect((await post('{"identifier_field_name":')).status).toBe(400);
  });

  it.each([
    ['a prototype key', '{"identifier_field_name":"email","identifier_value":"a@example.com","consent":true,"__proto__":{"consent":false}}', '`__proto__`'],
    ['a constructor key', '{"identifier_field_name":"email","identifier_value":"a@example.com","consent":true,"constructor":1}', '`constructor`'],
    ['a NUL in the value', '{"identifier_field_name":"email","identifier_value":"a\\u0000@example.com","consent":true}', '`identifier_value`'],
    ['a lone surrogate in the reason', '{"identifier_field_name":"email","identifier_value":"a@example.com","consent":true,"consent_update_reason":"\\ud800"}', '`consent_update_reason`'],
    ['a huge ts', '{"identifier_field_name":"email","identifier_value":"a@example.com","consent":true,"consent_update_ts":1e308}', '`consent_update_ts`'],
    ['a negative ts', '{"identifier_field_name":"email","identifier_value":"a@example.com","consent":true,"consent_update_ts":-1}', '`consent_update_ts`'],
    ['an array ts', '{"identifier_field_name":"email","identifier_value":"a@example.com","consent":true,"consent_update_ts":[1]}', '`consent_update_ts`'],
    ['a number as an email', '{"identifier_field_name":"email","identifier_value":42,"consent":true}', '`identifier_value`'],
    ['a 256-character value', JSON.stringify({ identifier_field_name: 'vuid', identifier_value: 'v'.repeat(256), consent: true }), '`identifier_value`'],
    ['an object as the type', '{"identifier_field_name":{"email":1},"identifier_value":"a@example.com","consent":true}', '`identifier_field_name`'],
    ['deeply nested event_data', `{"identifier_field_name":"email","identifier_value":"a@example.com","consent":true,"event_data":${'['.repeat(2000)}${']'.repeat(2000)}}`, '`event_data`'],
  ])('when an item has %s, then 400 naming the field (never a 5xx)', async (_what, body, field) => {
    const r = await post(body);
    expect(r.status).toBe(400);
    expect(r.body.detail.invalids).toEqual([{ event: 0, message: expect.stringContaining(field) }]);
  });

  it('when the body is not JSON, then 415', async () => {
    const r = await fetch(`${server.url}/v3/consent`, { method: 'POST', headers: { 'x-api-key': server.publicKey, 'content-type': 'text/plain' }, body: 'consent=true' });
    expect(r.status).toBe(415);
  });

  it.each([
    ['an unknown type', '/v3/consent/fax?id=1', '`fax`'],
    ['no id', '/v3/consent/email', '`id`'],
    ['an empty id', '/v3/consent/email?id=', '`id`'],
    ['two ids', '/v3/consent/email?id=a%40example.com&id=b%40example.com', '`id`'],
    ['an invalid email', '/v3/consent/email?id=nope', '`id` must look like an email address'],
    ['another parameter', '/v3/consent/email?id=a%40example.com&email=b', '`email`'],
  ])('when GET has %s, then 400 with detail.message naming it', async (_what, path, message) => {
    const r = await call('GET', path, readKey);
    expect(r).toMatchObject({ status: 400, body: { title: 'Bad Request', status: 400, detail: { message: expect.stringContaining(message) } } });
  });
});

describe('given keys of each kind', () => {
  it('then POST takes public and private keys (not read keys), GET takes read and private keys (not public ones): 403 {"message":"Forbidden"} otherwise', async () => {
    const item = { identifier_field_name: 'email', identifier_value: `keys.${tag}@example.com`, consent: true };
    expectAccepted(await post(item, server.publicKey));
    expectAccepted(await post(item, server.privateKey));
    for (const key of [readKey, null, 'tpk_unknown']) expect(await post(item, key)).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
    expect((await get('email', `keys.${tag}@example.com`, readKey)).status).toBe(200);
    expect((await get('email', `keys.${tag}@example.com`, server.privateKey)).status).toBe(200);
    for (const key of [server.publicKey, null]) expect(await get('email', `keys.${tag}@example.com`, key)).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
  });
});
