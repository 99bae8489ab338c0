// DESIGN §10 / issue 10 item 3: the `Idempotency-Key` request header on POST /v3/profiles and
// POST /v3/events, driven over HTTP against the single-node server. "Published" is checked where it
// happens: the Postgres log's `log_records` (a record's value holds the item's values).
import { Client } from 'pg';
import { PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { connectDataDirDb } from '../support/faults/data-dir-db';
import { rawRequest, RawResponse } from '../support/faults/http';
import { tesseraCli } from '../support/faults/cli';
import { SingleNode, startSingleNode } from '../support/single-node-server';

let server: SingleNode;
let db: Client;
/** Public key of a second tenant, made with the CLI. */
let otherTenantKey: string;
const tag = `idem${process.pid}`;
let n = 0;
/** A value seen nowhere else, to find a request's records in the log. */
const unique = (what: string) => `${what}.${tag}.${++n}`;
const email = (what: string) => `${unique(what)}@example.com`;

beforeAll(async () => {
  server = await startSingleNode();
  db = await connectDataDirDb(server.dataDir);
  expect((await tesseraCli(server.dataDir, 'tenants', 'create', 'idem-other')).code).toBe(0);
  otherTenantKey = (await tesseraCli(server.dataDir, 'keys', 'create', '--tenant', 'idem-other', '--kind', 'public')).stdout.trim();
}, 90_000);

afterAll(async () => {
  await db?.end();
  expect(await server.stop('SIGTERM')).toBe(0);
  server.cleanup();
});

function post(path: string, body: string | unknown, headers: Record<string, string> = {}, apiKey: string | null = server.publicKey): Promise<RawResponse> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return rawRequest(server.url, {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...(apiKey ? { 'x-api-key': apiKey } : {}), ...headers },
    body: payload,
  });
}
const profiles = (body: string | unknown, key?: string, apiKey?: string | null) => post('/v3/profiles', body, key === undefined ? {} : { 'idempotency-key': key }, apiKey);
const events = (body: string | unknown, key?: string) => post('/v3/events', body, key === undefined ? {} : { 'idempotency-key': key });

/** How many records on the log carry `marker` in their value. */
async function published(marker: string): Promise<number> {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM log_records WHERE topic = $1 AND position(convert_to($2, 'UTF8') IN value) > 0`, [PROFILE_UPSERTS_TOPIC, marker]);
  return rows[0].n;
}

const ACCEPTED = { title: 'Accepted', status: 202, timestamp: expect.any(String) };

describe('given a POST /v3/profiles with an Idempotency-Key', () => {
  it('when the same key and the same body (keys reordered, other spacing) come again, then the first answer is repeated and the log holds the item once', async () => {
    const key = unique('key');
    const mail = email('same');
    const first = await profiles(`{"attributes":{"email":"${mail}","first_name":"Ann","score":1}}`, key);
    expect({ status: first.status, body: first.json }).toEqual({ status: 202, body: ACCEPTED });
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await profiles(`{ "attributes": { "score": 1.0, "first_name": "Ann", "email": "${mail}" } }`, key);
    expect({ status: again.status, body: again.json }).toEqual({ status: 202, body: first.json }); // the same timestamp too
    expect(again.headers['idempotent-replayed']).toBe('true');
    const quoted = await profiles(`{"attributes":{"email":"${mail}","first_name":"Ann","score":1}}`, `"${key}"`); // the draft's sf-string form
    expect({ status: quoted.status, body: quoted.json, replayed: quoted.headers['idempotent-replayed'] }).toEqual({ status: 202, body: first.json, replayed: 'true' });
    expect(await published(mail)).toBe(1);
  });

  it('when the same body comes twice without a key, then it is published twice (the count above would see a repeat)', async () => {
    const mail = email('nokey');
    expect((await profiles({ attributes: { email: mail } })).status).toBe(202);
    expect((await profiles({ attributes: { email: mail } })).status).toBe(202);
    expect(await published(mail)).toBe(2);
  });

  it('when the same key comes with a different body, then 422 in the Zaius shape and nothing of it is published', async () => {
    const key = unique('key');
    const mail = email('first');
    const other = email('other');
    expect((await profiles({ attributes: { email: mail } }, key)).status).toBe(202);
    const r = await profiles({ attributes: { email: other } }, key);
    expect({ status: r.status, body: r.json }).toEqual({
      status: 422,
      body: {
        title: 'Unprocessable Entity',
        status: 422,
        timestamp: expect.any(String),
        detail: { message: `Idempotency-Key ${JSON.stringify(key)} was used with a different request body; send a new key with a new request` },
      },
    });
    expect(await published(other)).toBe(0);
    expect(await published(mail)).toBe(1);
  });

  it('when the first request is answered 400, then nothing is kept: the same key with a fixed body is accepted, and then replayed', async () => {
    const key = unique('key');
    const mail = email('fixed');
    const bad = await profiles({ attributes: { email: mail, bad: { nested: true } } }, key);
    expect(bad.status).toBe(400);
    expect(bad.json.detail.invalids[0]).toMatchObject({ event: 0 });
    expect((await profiles({ attributes: { email: mail, bad: { nested: true } } }, key)).headers['idempotent-replayed']).toBeUndefined(); // a 400 is not replayed
    const fixed = await profiles({ attributes: { email: mail, bad: 'flat' } }, key);
    expect({ status: fixed.status, replayed: fixed.headers['idempotent-replayed'] }).toEqual({ status: 202, replayed: undefined });
    const again = await profiles({ attributes: { email: mail, bad: 'flat' } }, key);
    expect({ status: again.status, body: again.json, replayed: again.headers['idempotent-replayed'] }).toEqual({ status: 202, body: fixed.json, replayed: 'true' });
    expect(await published(mail)).toBe(1);
  });

  it('when two tenants use one key with different bodies, then they do not collide: both are accepted and published', async () => {
    const key = unique('key');
    const a = email('tenant-a');
    const b = email('tenant-b');
    const ra = await profiles({ attributes: { email: a } }, key);
    const rb = await profiles({ attributes: { email: b } }, key, otherTenantKey);
    expect([ra.status, rb.status]).toEqual([202, 202]);
    expect(rb.headers['idempotent-replayed']).toBeUndefined();
    expect([await published(a), await published(b)]).toEqual([1, 1]);
  });

  it('when the repeat comes while the first is still in flight, then 409 with Retry-After; once answered, the repeat is replayed and the log holds the item once', async () => {
    const key = unique('key');
    const mail = email('inflight');
    // Hold the Postgres log's partition rows from a session of our own: the first request waits inside produce().
    const hold = await connectDataDirDb(server.dataDir);
    let first: Promise<RawResponse> | undefined;
    try {
      await hold.query('BEGIN');
      await hold.query('SELECT * FROM log_partitions WHERE topic = $1 FOR UPDATE', [PROFILE_UPSERTS_TOPIC]);
      first = profiles({ attributes: { email: mail } }, key);
      for (let waited = 0; ; waited += 50) {
        const { rows } = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'tessera' AND wait_event_type = 'Lock'`);
        if (rows[0].n > 0) break;
        if (waited > 20_000) throw new Error('the first request never reached the log');
        await new Promise((r) => setTimeout(r, 50));
      }
      const repeat = await profiles({ attributes: { email: mail } }, key);
      expect({ status: repeat.status, body: repeat.json, retryAfter: repeat.headers['retry-after'] }).toEqual({
        status: 409,
        body: {
          title: 'Conflict',
          status: 409,
          timestamp: expect.any(String),
          detail: { message: `A request with Idempotency-Key ${JSON.stringify(key)} is still being processed; retry once it is answered` },
        },
        retryAfter: '1',
      });
    } finally {
      await hold.query('ROLLBACK');
      await hold.end();
    }
    const answered = await first!;
    expect(answered.status).toBe(202);
    const later = await profiles({ attributes: { email: mail } }, key);
    expect({ status: later.status, body: later.json, replayed: later.headers['idempotent-replayed'] }).toEqual({ status: 202, body: answered.json, replayed: 'true' });
    expect(await published(mail)).toBe(1);
  });

  it.each([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['not ASCII', 'clé'],
  ])('when the key is %s, then 400 naming the header and nothing is published', async (_what, key) => {
    const mail = email('badkey');
    const r = await profiles({ attributes: { email: mail } }, key);
    expect({ status: r.status, body: r.json }).toEqual({
      status: 400,
      body: { title: 'Bad Request', status: 400, timestamp: expect.any(String), detail: { message: expect.stringMatching(/^Idempotency-Key header must be 1 to 255 printable ASCII characters/) } },
    });
    expect(await published(mail)).toBe(0);
  });

  it('when the API key is bad, then 403 comes first (the Idempotency-Key is not looked at)', async () => {
    const r = await profiles({ attributes: { email: email('forbidden') } }, '', 'tpk_not-a-real-key-000000000000');
    expect({ status: r.status, body: r.json }).toEqual({ status: 403, body: { message: 'Forbidden' } });
  });
});

describe('given a POST /v3/events with an Idempotency-Key', () => {
  it('when an SDK retries the same batch with the same key, then the first answer is repeated and each event is on the log once', async () => {
    const key = unique('key');
    const vuid = unique('vuid');
    const batch = [
      { type: 'pageview', identifiers: { vuid }, data: { page: 'home' } },
      { type: 'order', action: 'purchase', identifiers: { vuid }, data: { total: 12.5 } },
    ];
    const first = await events(batch, key);
    expect({ status: first.status, body: first.json }).toEqual({ status: 202, body: ACCEPTED });
    const retry = await events(batch, key);
    expect({ status: retry.status, body: retry.json, replayed: retry.headers['idempotent-replayed'] }).toEqual({ status: 202, body: first.json, replayed: 'true' });
    expect(await published(vuid)).toBe(2);
  });

  it('when a key used on /v3/profiles comes on /v3/events, then 422 (another request) and nothing is published', async () => {
    const key = unique('key');
    const vuid = unique('vuid');
    expect((await profiles({ attributes: { vuid } }, key)).status).toBe(202);
    const r = await events({ type: 'pageview', identifiers: { vuid }, data: {} }, key);
    expect(r.status).toBe(422);
    expect(await published(vuid)).toBe(1);
  });
});

describe('given the idempotency_requests table', () => {
  it('then it holds keys and fingerprints, never a request body', async () => {
    const mail = email('stored');
    expect((await profiles({ attributes: { email: mail } }, unique('key'))).status).toBe(202);
    const { rows } = await db.query(`SELECT * FROM idempotency_requests`);
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows)).not.toContain(mail);
    for (const r of rows) expect(r.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('given a server started with TESSERA_IDEMPOTENCY_WINDOW=4s', () => {
  let short: SingleNode;
  beforeAll(async () => {
    short = await startSingleNode({ env: { TESSERA_IDEMPOTENCY_WINDOW: '4s' } });
  }, 90_000);
  afterAll(async () => {
    expect(await short?.stop('SIGTERM')).toBe(0);
    short?.cleanup();
  });

  it('when a key comes back after the window, then it is a new request (another body accepted); within it, 422', async () => {
    const send = (body: unknown) =>
      rawRequest(short.url, {
        method: 'POST',
        path: '/v3/profiles',
        headers: { 'content-type': 'application/json', 'x-api-key': short.publicKey, 'idempotency-key': 'window-key' },
        body: JSON.stringify(body),
      });
    expect((await send({ attributes: { email: email('window-a') } })).status).toBe(202);
    const answeredAt = Date.now(); // the key's first use is before this
    expect((await send({ attributes: { email: email('window-b') } })).status).toBe(422);
    await new Promise((r) => setTimeout(r, Math.max(0, answeredAt + 4_200 - Date.now())));
    const after = await send({ attributes: { email: email('window-c') } });
    expect({ status: after.status, replayed: after.headers['idempotent-replayed'] }).toEqual({ status: 202, replayed: undefined });
  });
});
