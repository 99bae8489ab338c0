import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

/** Posts with node:http so the early 413 is read even though the server closes before the upload ends. */
function postRaw(url: string, key: string, body: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v3/profiles`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(data) }));
    });
    req.on('error', (e) => (e as NodeJS.ErrnoException).code === 'EPIPE' || (e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e));
    req.end(body);
  });
}

// Drives `npm start`'s single-node mode over HTTP exactly as a client would (DESIGN §3, §5).
const ZAIUS_EXAMPLE = [
  {
    attributes: {
      first_name: 'Johnny', last_name: 'Zaius', email: 'sample@test.com', phone: '555-867-5309', street1: '123 Fake St',
      street2: 'Apt 101', city: 'Boston', state: 'MA', zip: '02101', country: 'USA', timezone: 'America/New_York', gender: 'M',
    },
  },
  {
    attributes: {
      first_name: 'Jenny', last_name: 'Example', email: 'example@notreal.com', phone: '555-555-5555', street1: '456 Imaginary Ln',
      city: 'Leesburg', state: 'Virginia', zip: '20175', country: 'United States', timezone: 'America/New_York', gender: 'F',
    },
  },
];

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
let server: SingleNode;
let api: ProfilesClient;
let n = 0;
/** A unique email per test so cases never see each other's people. */
const email = (tag: string) => `${tag}.${process.pid}.${++n}@example.com`;

beforeAll(async () => {
  server = await startSingleNode();
  api = new ProfilesClient(server.url, server.publicKey, server.privateKey);
});

afterAll(async () => {
  expect(await server.stop('SIGTERM')).toBe(0);
  server.cleanup();
});

describe('given the Zaius docs example batch', () => {
  it('when posted, then 202 Accepted and each person is found by email (any case or spacing), phone and zaius_id', async () => {
    const res = await api.post(ZAIUS_EXAMPLE);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ title: 'Accepted', status: 202, timestamp: expect.stringMatching(ISO) });

    const johnny = await api.until('email=' + encodeURIComponent('  SAMPLE@Test.com '));
    expect(johnny.attributes).toMatchObject({ first_name: 'Johnny', last_name: 'Zaius', email: 'sample@test.com', city: 'Boston', zip: '02101' });
    expect(johnny.identifiers).toEqual({ email: ['sample@test.com'], phone: ['+15558675309'] });
    expect(johnny.created_at).toMatch(ISO);
    expect(johnny.updated_at).toMatch(ISO);
    const byPhone = await api.get('phone=' + encodeURIComponent('(555) 867-5309'));
    expect(byPhone.status).toBe(200);
    expect(byPhone.body.attributes.zaius_id).toBe(johnny.attributes.zaius_id);
    const byId = await api.get('zaius_id=' + johnny.attributes.zaius_id);
    expect(byId.body.attributes.first_name).toBe('Johnny');

    const jenny = await api.until('email=example@notreal.com');
    expect(jenny.attributes.first_name).toBe('Jenny');
    expect(jenny.attributes.zaius_id).not.toBe(johnny.attributes.zaius_id);
  });
});

describe('given an invalid batch', () => {
  it('when any item is invalid, then 400 lists every invalid item by index, naming the field, and nothing is applied', async () => {
    const ok = email('valid');
    const res = await api.post([
      { attributes: { email: ok, first_name: 'Kept out' } },
      { attributes: { email: 'not-an-email' } },
      { attributes: { first_name: 'No identifier' } },
      { attributes: { email: email('x'), 'Bad Name': 1 } },
      { attributes: { email: email('y'), nested: { a: 1 } } },
      { nope: true },
    ]);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ title: 'Bad Request', status: 400, timestamp: expect.stringMatching(ISO) });
    const invalids = res.body.detail.invalids as Array<{ event: number; message: string }>;
    expect(invalids.map((i) => i.event)).toEqual([1, 2, 3, 4, 5]);
    expect(invalids[0].message).toContain('email');
    expect(invalids[1].message).toMatch(/identifier/);
    expect(invalids[2].message).toContain('Bad Name');
    expect(invalids[3].message).toContain('nested');
    expect(invalids[4].message).toContain('attributes');
    await new Promise((r) => setTimeout(r, 500));
    expect((await api.get('email=' + ok)).status).toBe(404);
  });

  it.each([
    ['a single object with a bad ts', { attributes: { email: 'a@b.co', ts: 'yesterday' } }, 'ts'],
    ['an identifier of the wrong type', { attributes: { email: 42 } }, 'email'],
    ['a reserved attribute name', '{"attributes":{"email":"a@b.co","__proto__":{"x":1}}}', '__proto__'],
    ['a constructor attribute', { attributes: { email: 'a@b.co', constructor: 'x' } }, 'constructor'],
  ])('when the body has %s, then 400 names the field at index 0', async (_what, body, field) => {
    const res = await api.post(body);
    expect(res.status).toBe(400);
    expect(res.body.detail.invalids[0].event).toBe(0);
    expect(res.body.detail.invalids[0].message).toContain(field);
  });

  it('when items carry a zaius_id that is not a UUID ("test"), then 400 lists each of them naming the field, and nothing is applied', async () => {
    const people = [email('zaius-test-a'), email('zaius-test-b')];
    const res = await api.post(people.map((e) => ({ attributes: { zaius_id: 'test', email: e } })));
    expect(res.status).toBe(400);
    expect(res.body.detail.invalids).toEqual([
      { event: 0, message: '`zaius_id` must be a UUID' },
      { event: 1, message: '`zaius_id` must be a UUID' },
    ]);
    await new Promise((r) => setTimeout(r, 500));
    for (const e of people) expect((await api.get('email=' + e)).status).toBe(404);
  });

  it('when the JSON is malformed, then 400 with detail.message', async () => {
    const res = await api.post('[{"attributes": {');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ title: 'Bad Request', status: 400, detail: { message: expect.any(String) } });
  });

  it('when the body is not JSON, then 415', async () => {
    const res = await api.post('email=a@b.co', server.publicKey, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ status: 415 });
  });

  it('when the body is over 4 MiB, then 413', async () => {
    const big = JSON.stringify([{ attributes: { email: 'a@b.co', blob: 'x'.repeat(4 * 1024 * 1024) } }]);
    const res = await postRaw(server.url, server.publicKey, big);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ status: 413 });
  });

  it('when the array is empty or has 501 items, then 400 with detail.message', async () => {
    expect((await api.post([])).body.detail.message).toMatch(/1 to 500/);
    const many = Array.from({ length: 501 }, (_, i) => ({ attributes: { vuid: `v${i}` } }));
    const res = await api.post(many);
    expect(res.status).toBe(400);
    expect(res.body.detail.message).toMatch(/500/);
  });
});

describe('given API keys', () => {
  it('when the key is missing or unknown, then 403 {"message":"Forbidden"} on both endpoints', async () => {
    for (const key of [null, 'tpk_not-a-real-key-000000000000']) {
      expect(await api.post({ attributes: { email: 'a@b.co' } }, key)).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
      expect(await api.get('email=a@b.co', key)).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
    }
  });

  it('when a public key reads, then 403; a private key may write', async () => {
    expect(await api.get('email=a@b.co', server.publicKey)).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
    expect((await api.post({ attributes: { email: email('private') } }, server.privateKey)).status).toBe(202);
  });
});

describe('given look-up queries', () => {
  it.each([
    ['no identifier', ''],
    ['two identifiers', 'email=a@b.co&phone=5551234567'],
    ['an unknown identifier type', 'shoe_size=42'],
    ['an empty value', 'email='],
    ['a zaius_id that is not a UUID', 'zaius_id=test'],
  ])('when the query has %s, then 400 with detail.message', async (_what, query) => {
    const res = await api.get(query);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ title: 'Bad Request', status: 400, detail: { message: expect.any(String) } });
  });

  it('when nobody has the identifier, then the Zaius-style 404', async () => {
    const res = await api.get('email=nobody@nowhere.example');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      title: 'Not Found',
      status: 404,
      timestamp: expect.stringMatching(ISO),
      detail: { message: 'Unable to find profile for email = nobody@nowhere.example' },
    });
  });
});

describe('given phone numbers as people write them (E.164, default region US)', () => {
  /** A fresh 555 number per test: 555 exchanges are fictional, yet possible (isPossible, not isValid). */
  const digits = () => String(Date.now() + ++n).slice(-7);

  it('when one number arrives written four ways, then it is one identifier +1… and every spelling finds the one person', async () => {
    const d = digits();
    const [x, y] = [d.slice(0, 3), d.slice(3)];
    const spellings = [`555-${x}-${y}`, `+1 (555) ${x}-${y}`, `1555${d}`, `(555) ${x}-${y}`];
    const res = await api.post(spellings.map((phone, i) => ({ attributes: { phone, [`seen_${i}`]: true, ts: 1_700_000_000 + i } })));
    expect(res.status).toBe(202);
    const e164 = `+1555${d}`;
    const person = await api.until('phone=' + encodeURIComponent(e164), (p) => p.attributes.seen_3 === true);
    expect(person.identifiers).toEqual({ phone: [e164] });
    expect(person.attributes).toMatchObject({ phone: e164, seen_0: true, seen_1: true, seen_2: true, seen_3: true });
    for (const spelling of spellings) {
      const r = await api.get('phone=' + encodeURIComponent(spelling));
      expect(r.status).toBe(200);
      expect(r.body.attributes.zaius_id).toBe(person.attributes.zaius_id);
    }
    // README advice: encode + as %2B; an unencoded + (decoded as a space) still finds the same person.
    expect((await api.get(`phone=%2B1555${d}`)).body.attributes.zaius_id).toBe(person.attributes.zaius_id);
    expect((await api.get(`phone=+1555${d}`)).body.attributes.zaius_id).toBe(person.attributes.zaius_id);
  });

  it('when a number of another country is looked up with an unencoded +, then the + is kept (not read as a US number)', async () => {
    const d = digits().slice(-6);
    const uk = `+44 7911 ${d}`; // a UK mobile: 7911 and 6 digits
    expect((await api.post({ attributes: { phone: uk, first_name: 'Uk' } })).status).toBe(202);
    const person = await api.until('phone=' + encodeURIComponent(uk));
    const e164 = person.identifiers.phone[0];
    expect(e164).toBe(uk.replace(/ /g, ''));
    const unencoded = await api.get(`phone=${e164}`); // the query parser decodes this + as a space
    expect(unencoded.status).toBe(200);
    expect(unencoded.body.attributes.zaius_id).toBe(person.attributes.zaius_id);
  });

  it('when a phone is not a possible number, then 400 names phone and the item index, and nothing is applied', async () => {
    const kept = email('phone-kept');
    const res = await api.post([{ attributes: { email: kept } }, { attributes: { email: email('phone-bad'), phone: '555-1234' } }]);
    expect(res.status).toBe(400);
    expect(res.body.detail.invalids).toEqual([{ event: 1, message: expect.stringMatching(/^`phone` must be a possible phone number.*region US/) }]);
    await new Promise((r) => setTimeout(r, 500));
    expect((await api.get('email=' + kept)).status).toBe(404);
  });
});

describe('given two known profiles', () => {
  it('when one upsert links their high-confidence identifiers, then they merge into the earliest and the old id redirects', async () => {
    const a = email('merge-a');
    const phone = `+1555${String(Date.now()).slice(-7)}`;
    expect((await api.post({ attributes: { email: a, first_name: 'Early', ts: 1_700_000_000 } })).status).toBe(202);
    expect((await api.post({ attributes: { phone, last_name: 'Later', ts: 1_700_000_100 } })).status).toBe(202);
    const first = await api.until('email=' + a);
    const second = await api.until('phone=' + encodeURIComponent(phone));
    expect(first.attributes.zaius_id).not.toBe(second.attributes.zaius_id);

    expect((await api.post({ attributes: { email: a, phone, city: 'Paris', ts: 1_700_000_200 } })).status).toBe(202);
    const merged = await api.until('phone=' + encodeURIComponent(phone), (p) => p.attributes.zaius_id === first.attributes.zaius_id);
    expect(merged.attributes).toMatchObject({ first_name: 'Early', last_name: 'Later', city: 'Paris' });
    expect(merged.identifiers.email).toEqual([a]);
    expect(merged.identifiers.phone).toEqual([phone]);
    const redirected = await api.get('zaius_id=' + second.attributes.zaius_id);
    expect(redirected.status).toBe(200);
    expect(redirected.body.attributes.zaius_id).toBe(first.attributes.zaius_id);
  });

  it('when two different customer_ids would meet, then merge protection keeps them apart', async () => {
    const a = email('cust-a');
    const b = email('cust-b');
    await api.post([{ attributes: { email: a, customer_id: `c-${a}` } }, { attributes: { email: b, customer_id: `c-${b}` } }]);
    const pa = await api.until('email=' + a);
    const pb = await api.until('email=' + b);
    await api.post({ attributes: { email: b, customer_id: `c-${a}`, note: 'conflict' } });
    const after = await api.until('customer_id=' + encodeURIComponent(`c-${a}`), (p) => p.attributes.note === 'conflict');
    expect(after.attributes.zaius_id).toBe(pa.attributes.zaius_id);
    expect((await api.get('email=' + b)).body.attributes.zaius_id).toBe(pb.attributes.zaius_id);
    expect(after.identifiers.email).toEqual([a]);
  });
});

describe('given zaius_id', () => {
  it('when a zaius_id names no profile, then it is not an identifier: no profile gets that id, the item applies through its email', async () => {
    const [unknown, alone] = [randomUUID(), randomUUID()];
    const e = email('zaius-unknown');
    // An item whose only identifier is an unknown zaius_id is valid (202) but changes nothing.
    expect((await api.post({ attributes: { zaius_id: alone, plan: 'ghost' } })).status).toBe(202);
    expect((await api.post({ attributes: { zaius_id: unknown.toUpperCase(), email: e, first_name: 'Real' } })).status).toBe(202);
    const profile = await api.until('email=' + e);
    expect(profile.attributes).toMatchObject({ email: e, first_name: 'Real' });
    expect(profile.attributes.zaius_id).not.toBe(unknown);
    expect(profile.identifiers).toEqual({ email: [e] });
    expect((await api.get('zaius_id=' + unknown)).status).toBe(404);
    // Poll a while: the item with only a zaius_id never creates a profile with its id.
    await expect(api.until('zaius_id=' + alone, () => true, 1_500)).rejects.toThrow();
  });

  it('when a zaius_id names a known profile, then the item applies to it and a new email joins it', async () => {
    const [first, second] = [email('zaius-known-1'), email('zaius-known-2')];
    expect((await api.post({ attributes: { email: first } })).status).toBe(202);
    const known = await api.until('email=' + first);
    expect((await api.post({ attributes: { zaius_id: known.attributes.zaius_id.toUpperCase(), email: second, plan: 'pro' } })).status).toBe(202);
    const joined = await api.until('email=' + second);
    expect(joined.attributes).toMatchObject({ zaius_id: known.attributes.zaius_id, plan: 'pro' });
    expect(joined.identifiers).toEqual({ email: [first, second] });
  });
});

describe('given an anonymous profile (a vuid only) and a known profile created after it', () => {
  it('when the vuid is seen with the known email, then the anonymous profile merges into the known one: its zaius_id survives', async () => {
    const vuid = `vuid-into-${process.pid}-${++n}`;
    const e = email('into');
    expect((await api.post({ attributes: { vuid, page: 'home', city: 'Bergen', ts: 1_700_000_000 } })).status).toBe(202);
    const anon = await api.until('vuid=' + vuid);
    expect((await api.post({ attributes: { email: e, first_name: 'Known', city: 'Rome', ts: 1_700_000_100 } })).status).toBe(202);
    const known = await api.until('email=' + e);
    expect(known.attributes.zaius_id).not.toBe(anon.attributes.zaius_id);

    expect((await api.post({ attributes: { vuid, email: e, ts: 1_700_000_200 } })).status).toBe(202);
    const merged = await api.until('vuid=' + vuid, (p) => p.attributes.zaius_id === known.attributes.zaius_id);
    expect(merged.attributes).toMatchObject({ first_name: 'Known', page: 'home', city: 'Rome' }); // per attribute, last writer wins
    expect(merged.identifiers).toEqual({ email: [e], vuid: [vuid] });
    const redirected = await api.get('zaius_id=' + anon.attributes.zaius_id);
    expect(redirected.status).toBe(200);
    expect(redirected.body.attributes.zaius_id).toBe(known.attributes.zaius_id);
  });
});

describe('given attribute writes with event times', () => {
  it('when an older write arrives later, then the newer value wins per attribute, and null clears', async () => {
    const e = email('lww');
    await api.post({ attributes: { email: e, first_name: 'New', city: 'Oslo', ts: '2024-05-02T00:00:00Z' } });
    await api.until('email=' + e);
    await api.post({ attributes: { email: e, first_name: 'Old', zip: '0150', ts: '2024-05-01T00:00:00Z' } });
    const p = await api.until('email=' + e, (x) => x.attributes.zip === '0150');
    expect(p.attributes.first_name).toBe('New');
    await api.post({ attributes: { email: e, city: null, ts: 1_714_694_400_000 } }); // 2024-05-03: a future ts is refused now
    const cleared = await api.until('email=' + e, (x) => !('city' in x.attributes));
    expect(cleared.attributes).toMatchObject({ first_name: 'New', zip: '0150' });
  });

  it('when an anonymous visitor (vuid) later gives an email, then the email joins that profile', async () => {
    const vuid = `vuid-${process.pid}-${++n}`;
    await api.post({ attributes: { vuid, page: 'home' } });
    const anon = await api.until('vuid=' + vuid);
    const e = email('anon');
    await api.post({ attributes: { vuid, email: e, first_name: 'Known' } });
    const known = await api.until('email=' + e);
    expect(known.attributes).toMatchObject({ zaius_id: anon.attributes.zaius_id, page: 'home', first_name: 'Known' });
    expect(known.identifiers).toEqual({ email: [e], vuid: [vuid] });
  });
});

describe('given 20 concurrent batches of 500 upserts', () => {
  it('when posted at once, then every batch gets 202 and all 10,000 people become queryable', async () => {
    const tag = `bulk${process.pid}`;
    const batches = Array.from({ length: 20 }, (_, b) =>
      Array.from({ length: 500 }, (_, i) => ({ attributes: { email: `${tag}.${b}.${i}@example.com`, batch: b, item: i } })),
    );
    const results = await Promise.all(batches.map((batch) => api.post(batch)));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(202));
    const last = await api.until(`email=${tag}.19.499@example.com`, () => true, 60_000);
    expect(last.attributes).toMatchObject({ batch: 19, item: 499 });
    // Sample across batches: every one applied.
    for (let b = 0; b < 20; b++) {
      const r = await api.until(`email=${tag}.${b}.${(b * 37) % 500}@example.com`, () => true, 30_000);
      expect(r.attributes.batch).toBe(b);
    }
  });
});

describe('given look-ups arriving together (the server answers them from shared statements)', () => {
  it('when 300 look-ups by email, phone and zaius_id, of known and unknown people, arrive at once, then each gets its own person or its own 404', async () => {
    const tag = `together${process.pid}`;
    const people = Array.from({ length: 200 }, (_, i) => ({ attributes: { email: `${tag}.${i}@example.com`, phone: `+1415555${1000 + i}`, item: i } }));
    expect((await api.post(people)).status).toBe(202);
    const found = await Promise.all(people.map((p) => api.until(`email=${p.attributes.email}`, () => true, 30_000)));
    const zaiusIds = found.map((f) => f.attributes.zaius_id as string);

    const queries: Array<{ query: string; item: number | null; unknown?: string }> = [
      ...people.map((p, i) => ({ query: `email=${encodeURIComponent(p.attributes.email)}`, item: i })),
      ...people.slice(0, 50).map((p, i) => ({ query: `phone=${encodeURIComponent(p.attributes.phone)}`, item: i })),
      ...zaiusIds.slice(100, 130).map((id, i) => ({ query: `zaius_id=${id}`, item: 100 + i })),
      ...Array.from({ length: 20 }, (_, i) => ({ query: `email=nobody.${tag}.${i}@example.com`, item: null, unknown: `nobody.${tag}.${i}@example.com` })),
    ];
    const answers = await Promise.all(queries.map((q) => api.get(q.query)));

    answers.forEach((answer, n) => {
      const q = queries[n];
      if (q.item === null) {
        expect(answer).toMatchObject({ status: 404, body: { detail: { message: `Unable to find profile for email = ${q.unknown}` } } });
      } else {
        expect({ query: q.query, status: answer.status, item: answer.body.attributes.item, zaius_id: answer.body.attributes.zaius_id }).toEqual({ query: q.query, status: 200, item: q.item, zaius_id: zaiusIds[q.item] });
      }
    });
  });
});
