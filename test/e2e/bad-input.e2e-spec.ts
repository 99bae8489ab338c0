// Issue 5 §2: bad input gets its documented 4xx, the process stays up after every case and its
// memory stays bounded over the whole barrage. One server for the file.
import { isAlive, postProfiles, rawRequest, RawResponse, rssMiB, startSlowRequest } from '../support/faults/http';
import { ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const RSS_CEILING_MIB = 600;

let server: SingleNode;
let api: ProfilesClient;
let rssBefore: number;
const tag = `bad${process.pid}`;

beforeAll(async () => {
  server = await startSingleNode();
  api = new ProfilesClient(server.url, server.publicKey, server.privateKey);
  // Warm up (first requests load code and caches) before the baseline.
  expect((await api.post({ attributes: { email: `warm.${tag}@example.com` } })).status).toBe(202);
  await api.until(`email=${encodeURIComponent(`warm.${tag}@example.com`)}`);
  rssBefore = rssMiB(server.process.pid!);
});

afterAll(async () => {
  expect(await server.stop('SIGTERM')).toBe(0);
  server.cleanup();
});

afterEach(async () => {
  // The process is alive and answering after every case.
  expect(isAlive(server.process.pid)).toBe(true);
  expect((await rawRequest(server.url, { path: '/health/live' })).status).toBe(200);
});

function post(body: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  return postProfiles(server.url, server.publicKey, body, headers);
}

function get(query: string): Promise<RawResponse> {
  return rawRequest(server.url, { path: `/v3/profiles?${query}`, headers: { 'x-api-key': server.privateKey } });
}

/** 400 `{title, status, timestamp, detail: {message}}`. */
function expectBodyError(r: RawResponse, pattern?: RegExp) {
  expect(r.status).toBe(400);
  expect(r.json).toEqual({ title: 'Bad Request', status: 400, timestamp: expect.stringMatching(ISO), detail: { message: expect.any(String) } });
  if (pattern) expect(r.json.detail.message).toMatch(pattern);
}

/** 400 listing the invalid items: `detail.invalids[{event, message}]`, each message naming `field`. */
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
  // Bounded answer whatever the input: no echo of a huge body.
  expect(r.text.length).toBeLessThan(16 * 1024);
}

describe('given malformed or oversized bodies', () => {
  it.each([
    ['truncated JSON', '[{"attributes": {'],
    ['a trailing comma', '{"attributes":{"email":"a@b.co",}}'],
    ['NaN and Infinity literals', '{"attributes":{"email":"a@b.co","n":NaN,"m":Infinity}}'],
    ['a raw control character inside a string', '{"attributes":{"vuid":"a\u0001b"}}'],
    ['two JSON documents', '{"attributes":{"email":"a@b.co"}} {"attributes":{"email":"c@d.co"}}'],
    ['an empty body', ''],
  ])('when the body is %s, then 400 with detail.message', async (_what, body) => {
    expectBodyError(await post(body));
  });

  it.each([
    ['a string', '"hello"'],
    ['a number', '42'],
    ['null', 'null'],
    ['true', 'true'],
    ['an empty array', '[]'],
  ])('when the body is %s (not an object or a non-empty array), then 400 with detail.message', async (_what, body) => {
    expectBodyError(await post(body), /object or an array of 1 to 500/);
  });

  it('when the body nests arrays 100,000 levels deep, then 400 quickly', async () => {
    expectInvalids(await post('['.repeat(100_000) + ']'.repeat(100_000)), [[0, 'item must be an object']]);
  });

  it('when the body nests objects 100,000 levels deep, then 400', async () => {
    expectInvalids(await post('{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)), [[0, /attributes/]]);
  });

  it('when an attribute value nests objects or arrays 100,000 levels deep, then 400 naming it', async () => {
    const deepObject = `{"attributes":{"email":"deep.${tag}@example.com","x":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}}`;
    expectInvalids(await post(deepObject), [[0, '`x`']]);
    const deepArray = `{"attributes":{"email":"deep.${tag}@example.com","y":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
    expectInvalids(await post(deepArray), [[0, '`y`']]);
    expect((await get(`email=deep.${tag}%40example.com`)).status).toBe(404);
  });

  const oversized = () => JSON.stringify([{ attributes: { email: `big.${tag}@example.com`, blob: 'x'.repeat(5 * 1024 * 1024) } }]);
  const expectTooLarge = (r: RawResponse) => {
    expect({ status: r.status, error: r.error }).toEqual({ status: 413, error: undefined });
    expect(r.json).toEqual({ title: 'Payload Too Large', status: 413, timestamp: expect.stringMatching(ISO), detail: { message: expect.any(String) } });
  };

  it('when the declared Content-Length is over the limit, then 413 before the body is read', async () => {
    const r = await startSlowRequest(server.url, {
      path: '/v3/profiles',
      headers: { 'content-type': 'application/json', 'x-api-key': server.publicKey },
      body: Buffer.from(oversized()),
      firstBytes: 0,
    }).response;
    expectTooLarge(r);
  });

  it('when clients upload bodies over the limit in full (as curl --data-binary does), then every one receives its 413, not a reset connection', async () => {
    // A client that never sees the 413 cannot tell "too large" from a network fault, and retries the same batch.
    // Four clients at once, with and without Content-Length (chunked), forty uploads each.
    const big = Buffer.from(oversized());
    const pieces = Array.from({ length: 10 }, (_, i) => big.subarray((i * big.length) / 10, ((i + 1) * big.length) / 10));
    const upload = (chunked: boolean) =>
      chunked
        ? rawRequest(server.url, { method: 'POST', path: '/v3/profiles', headers: { 'content-type': 'application/json', 'x-api-key': server.publicKey }, chunks: pieces })
        : post(big);
    const answers = (
      await Promise.all(
        [0, 1, 2, 3].map(async (client) => {
          const seen: string[] = [];
          for (let i = 0; i < 40; i++) {
            const r = await upload(client % 2 === 1);
            if (r.status === 413) expectTooLarge(r);
            seen.push(`${client % 2 === 1 ? 'chunked' : 'content-length'}:${r.status ?? r.error}`);
          }
          return seen;
        }),
      )
    ).flat();
    expect(answers.filter((a) => !a.endsWith(':413'))).toEqual([]);
  });

  it('when one item has 100,000 attributes, then 400 naming the limit', async () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => `"k${i}":${i}`).join(',');
    expectInvalids(await post(`{"attributes":{"email":"many.${tag}@example.com",${keys}}}`), [[0, /at most 256 attributes/]]);
  });

  it('when the body is not JSON, then 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
      const r = await post('email=a@b.co', { 'content-type': type });
      expect({ type, status: r.status }).toEqual({ type, status: 415 });
      expect(r.json).toMatchObject({ title: 'Unsupported Media Type', status: 415, detail: { message: expect.any(String) } });
    }
  });
});

describe('given invalid UTF-8', () => {
  const invalid = (email: string) =>
    Buffer.concat([Buffer.from(`{"attributes":{"email":"${email}","name":"a`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('b"}}')]);

  it('when the body (with Content-Length) holds invalid UTF-8 bytes, then 400 and nothing is stored', async () => {
    const email = `utf8.cl.${tag}@example.com`;
    const r = await postProfiles(server.url, server.publicKey, invalid(email));
    expectBodyError(r);
    expect((await get(`email=${encodeURIComponent(email)}`)).status).toBe(404);
  });

  it('when a chunked body holds invalid UTF-8 bytes, then 400 and nothing is stored (not silently replaced by U+FFFD)', async () => {
    const email = `utf8.chunked.${tag}@example.com`;
    const r = await rawRequest(server.url, {
      method: 'POST',
      path: '/v3/profiles',
      headers: { 'content-type': 'application/json', 'x-api-key': server.publicKey }, // no content-length: chunked
      chunks: [invalid(email)],
    });
    expect(r.status).toBe(400);
    await new Promise((res) => setTimeout(res, 1_000));
    const stored = await get(`email=${encodeURIComponent(email)}`);
    expect({ status: stored.status, name: stored.json?.attributes?.name }).toEqual({ status: 404, name: undefined });
  });

  it('when a valid multi-byte character is split across chunks, then it is stored intact', async () => {
    const email = `utf8.split.${tag}@example.com`;
    const body = Buffer.from(`{"attributes":{"email":"${email}","name":"h\u00e9llo \u20ac \u{1F600}"}}`);
    const cut = body.indexOf(0xe2) + 1; // inside the euro sign
    const r = await rawRequest(server.url, {
      method: 'POST',
      path: '/v3/profiles',
      headers: { 'content-type': 'application/json', 'x-api-key': server.publicKey },
      chunks: [body.subarray(0, cut), body.subarray(cut)],
    });
    expect(r.status).toBe(202);
    expect((await api.until(`email=${encodeURIComponent(email)}`)).attributes.name).toBe('h\u00e9llo \u20ac \u{1F600}');
  });

  it('when a string holds a lone surrogate escape, then 400 naming the attribute', async () => {
    expectInvalids(await post(`{"attributes":{"email":"sur.${tag}@example.com","name":"a\\ud800b"}}`), [[0, '`name`']]);
  });
});

describe('given huge and non-finite numbers', () => {
  it.each([
    ['an attribute of 1e400', '{"attributes":{"email":"n@example.com","n":1e400}}', '`n`'],
    ['an attribute of -1e400', '{"attributes":{"email":"n@example.com","n":-1e400}}', '`n`'],
    ['an array holding 1e400', '{"attributes":{"email":"n@example.com","a":[1,1e400]}}', '`a`'],
    ['ts of 1e400', '{"attributes":{"email":"n@example.com","ts":1e400}}', '`ts`'],
    ['ts of -1e400', '{"attributes":{"email":"n@example.com","ts":-1e400}}', '`ts`'],
    ['ts far beyond any date', '{"attributes":{"email":"n@example.com","ts":1e300}}', '`ts`'],
    ['customer_id of 1e400', '{"attributes":{"customer_id":1e400}}', 'customer_id'],
    ['customer_id beyond 2^53 (would lose digits)', '{"attributes":{"customer_id":12345678901234567890}}', 'customer_id'],
    ['customer_id with a fraction', '{"attributes":{"customer_id":12.5}}', 'customer_id'],
  ])('when the item has %s, then 400 naming the field', async (_what, body, field) => {
    expectInvalids(await post(body), [[0, field]]);
  });

  it('when a large but finite number is sent, then it is stored as sent', async () => {
    const email = `finite.${tag}@example.com`;
    expect((await post(`{"attributes":{"email":"${email}","big":1.7976931348623157e308,"tiny":5e-324,"neg":-0.5}}`)).status).toBe(202);
    expect((await api.until(`email=${encodeURIComponent(email)}`)).attributes).toMatchObject({ big: 1.7976931348623157e308, tiny: 5e-324, neg: -0.5 });
  });
});

describe('given __proto__, constructor and prototype keys at every level', () => {
  it.each([
    ['__proto__ at the top of a single object', '{"__proto__":{"attributes":{"email":"p@example.com"}}}', [[0, '__proto__']]],
    ['constructor at the top of a single object', '{"constructor":{"prototype":{"email":"p@example.com"}},"attributes":{"vuid":"v1"}}', [[0, 'constructor']]],
    ['__proto__ beside attributes in an item', '[{"attributes":{"email":"p@example.com"},"__proto__":{"polluted":1}}]', [[0, '__proto__']]],
    ['prototype beside attributes in an item', '[{"attributes":{"email":"p@example.com"},"prototype":{"polluted":1}}]', [[0, 'prototype']]],
    ['__proto__ inside attributes', '{"attributes":{"email":"p@example.com","__proto__":{"email":"x@example.com"}}}', [[0, '__proto__']]],
    ['constructor inside attributes', '{"attributes":{"email":"p@example.com","constructor":{"prototype":{"polluted":1}}}}', [[0, 'constructor']]],
    ['prototype inside attributes', '{"attributes":{"email":"p@example.com","prototype":"x"}}', [[0, 'prototype']]],
    ['__proto__ as the attributes object', '{"attributes":{"__proto__":{"email":"x@example.com"}}}', [[0, '__proto__']]],
    ['__proto__ in the second item only', '[{"attributes":{"vuid":"ok"}},{"attributes":{"vuid":"v","__proto__":{"isAdmin":true}}}]', [[1, '__proto__']]],
  ] as Array<[string, string, Array<[number, string]>]>)('when the body has %s, then 400 naming it', async (_what, body, expected) => {
    expectInvalids(await post(body), expected);
  });

  it('then nothing was polluted: later requests behave normally', async () => {
    // An item without identifiers is still refused (an inherited `email`/`vuid` would have let it through).
    expectInvalids(await post('{"attributes":{"first_name":"NoId"}}'), [[0, /identifier/]]);
    const email = `after-proto.${tag}@example.com`;
    expect((await post(JSON.stringify({ attributes: { email, first_name: 'Clean' } }))).status).toBe(202);
    const profile = await api.until(`email=${encodeURIComponent(email)}`);
    expect(Object.keys(profile.attributes).sort()).toEqual(['email', 'emails', 'first_name', 'zaius_id']); // `emails`: the plural identifier (DESIGN §10)
    expect(profile).not.toHaveProperty('polluted');
    expect(profile).not.toHaveProperty('isAdmin');
    expect(Object.keys(profile).sort()).toEqual(['attributes', 'created_at', 'identifiers', 'updated_at']);
    // Query strings with prototype keys are unknown identifier types, not object paths.
    for (const q of ['__proto__=x', 'constructor=x', '__proto__[email]=x', 'constructor[prototype][email]=x', 'prototype=x']) {
      expectBodyError(await get(q), /not an identifier type/);
    }
  });
});

describe('given injection strings and control characters', () => {
  const injections = [
    "Robert'); DROP TABLE profiles;--",
    "' OR '1'='1",
    '"; DELETE FROM identifiers WHERE ""="',
    '$1 $2 \\x00 %s %n {{7*7}} ${7*7} <script>alert(1)</script>',
    "1' UNION SELECT hash FROM api_keys--",
  ];
  const controls = 'bell\u0007 esc\u001b[31m tab\t nl\n cr\r del\u007f nbsp\u00a0 ls\u2028 bom\ufeff rtl\u202e';

  it('when they are attribute values and identifiers, then they are stored and returned verbatim', async () => {
    const items = injections.map((s, i) => ({
      attributes: { customer_id: `${s} #${i} ${tag}`, vuid: `v${i} ${s} ${controls} ${tag}`, note: s, controls, [`field_${i}`]: [s, controls] },
    }));
    const r = await post(JSON.stringify(items));
    expect(r.status).toBe(202);
    for (const [i, s] of injections.entries()) {
      const byCustomer = await api.until(`customer_id=${encodeURIComponent(`${s} #${i} ${tag}`)}`);
      expect(byCustomer.attributes).toMatchObject({ customer_id: `${s} #${i} ${tag}`, note: s, controls, [`field_${i}`]: [s, controls] });
      const byVuid = await api.get(`vuid=${encodeURIComponent(`v${i} ${s} ${controls} ${tag}`)}`);
      expect(byVuid.status).toBe(200);
      expect(byVuid.body.attributes.zaius_id).toBe(byCustomer.attributes.zaius_id);
    }
    // The tables are intact.
    expect((await api.get(`email=${encodeURIComponent(`warm.${tag}@example.com`)}`)).status).toBe(200);
  });

  it('when they are attribute names or query parameter names, then 400 (not a database error)', async () => {
    expectInvalids(await post(JSON.stringify({ attributes: { vuid: 'x', "a'; DROP TABLE profiles;--": 1 } })), [[0, 'DROP TABLE']]);
    expectInvalids(await post(JSON.stringify({ attributes: { vuid: 'x', 'a\u0007b': 1 } })), [[0, 'must match']]);
    expectBodyError(await get(`${encodeURIComponent("email' OR '1'='1")}=x`), /not an identifier type/);
    expectBodyError(await get(`${encodeURIComponent('em\u0000ail')}=x`), /not an identifier type/);
  });

  it('when a value holds NUL (U+0000), then 400 naming the attribute', async () => {
    expectInvalids(await post('{"attributes":{"vuid":"a\\u0000b"}}'), [[0, '`vuid`']]);
    expectInvalids(await post('{"attributes":{"vuid":"ok","note":"x\\u0000"}}'), [[0, '`note`']]);
  });

  it.each(['zaius_id', 'email', 'customer_id', 'vuid', 'phone'])('when a look-up by %s holds NUL (%%00), then a 4xx, never a 500', async (type) => {
    const value = type === 'email' ? 'a%00b@example.com' : type === 'phone' ? '555%00123%004567' : 'a%00b';
    const r = await get(`${type}=${value}`);
    expect([400, 404]).toContain(r.status);
    expect(r.json).toMatchObject({ status: r.status, detail: { message: expect.any(String) } });
  });
});

describe('given wrong types in every field', () => {
  it.each([
    ['attributes as an array', '{"attributes":[{"email":"a@b.co"}]}', '`attributes`'],
    ['attributes as a string', '{"attributes":"email=a@b.co"}', '`attributes`'],
    ['attributes as a number', '{"attributes":42}', '`attributes`'],
    ['attributes as null', '{"attributes":null}', '`attributes`'],
    ['attributes as true', '{"attributes":true}', '`attributes`'],
    ['an item that is a string', '["x"]', 'item must be an object'],
    ['an item that is null', '[null]', 'item must be an object'],
    ['an item that is an array', '[[{"attributes":{"email":"a@b.co"}}]]', 'item must be an object'],
    ['email as an object', '{"attributes":{"email":{"$ne":null}}}', '`email`'],
    ['email as an array', '{"attributes":{"email":["a@b.co"]}}', '`email`'],
    ['email as a boolean', '{"attributes":{"email":true}}', '`email`'],
    ['email as a number', '{"attributes":{"email":42}}', '`email`'],
    ['phone as an object', '{"attributes":{"phone":{"n":5551234567}}}', '`phone`'],
    ['phone as an array', '{"attributes":{"phone":["5551234567"]}}', '`phone`'],
    ['phone as a boolean', '{"attributes":{"phone":false}}', '`phone`'],
    ['customer_id as an object', '{"attributes":{"customer_id":{"id":1}}}', '`customer_id`'],
    ['customer_id as an array', '{"attributes":{"customer_id":[1]}}', '`customer_id`'],
    ['customer_id as a boolean', '{"attributes":{"customer_id":true}}', '`customer_id`'],
    ['vuid as an object', '{"attributes":{"vuid":{}}}', '`vuid`'],
    ['vuid as an array', '{"attributes":{"vuid":["v"]}}', '`vuid`'],
    ['vuid as a number', '{"attributes":{"vuid":7}}', '`vuid`'],
    ['zaius_id as an object', '{"attributes":{"zaius_id":{"id":"x"}}}', '`zaius_id`'],
    ['zaius_id as a boolean', '{"attributes":{"zaius_id":true}}', '`zaius_id`'],
    ['an identifier of 256 characters', `{"attributes":{"vuid":"${'v'.repeat(256)}"}}`, '`vuid`'],
    ['ts as a boolean', '{"attributes":{"email":"a@b.co","ts":true}}', '`ts`'],
    ['ts as an object', '{"attributes":{"email":"a@b.co","ts":{"$date":1}}}', '`ts`'],
    ['ts as an array', '{"attributes":{"email":"a@b.co","ts":[1700000000]}}', '`ts`'],
    ['ts as a non-date string', '{"attributes":{"email":"a@b.co","ts":"yesterday"}}', '`ts`'],
    ['an attribute as an object', '{"attributes":{"email":"a@b.co","address":{"city":"Boston"}}}', '`address`'],
    ['an array of objects', '{"attributes":{"email":"a@b.co","orders":[{"id":1}]}}', '`orders`'],
    ['an array of booleans', '{"attributes":{"email":"a@b.co","flags":[true]}}', '`flags`'],
    ['an array of 101 items', `{"attributes":{"email":"a@b.co","list":[${Array(101).fill(1).join(',')}]}}`, '`list`'],
    ['a string over 8 KiB', `{"attributes":{"email":"a@b.co","bio":"${'x'.repeat(8193)}"}}`, '`bio`'],
    ['an upper-case attribute name', '{"attributes":{"email":"a@b.co","FirstName":"x"}}', 'FirstName'],
  ])('when the item has %s, then 400 naming the field', async (_what, body, field) => {
    expectInvalids(await post(body), [[0, field]]);
  });

  it('when several items are wrong, then every one is listed by index and nothing is published', async () => {
    const ok = `ok.${tag}@example.com`;
    const r = await post(
      JSON.stringify([{ attributes: { email: ok } }, { attributes: [] }, { attributes: { email: 1 } }, 7, { attributes: { vuid: 'x', ts: false } }]),
    );
    expectInvalids(r, [[1, '`attributes`'], [2, '`email`'], [3, 'item must be an object'], [4, '`ts`']]);
    await new Promise((res) => setTimeout(res, 500));
    expect((await get(`email=${encodeURIComponent(ok)}`)).status).toBe(404);
  });
});

describe('given event times in the future (DESIGN §3)', () => {
  it('when a ts is more than 1 hour after receipt, then 400 names ts and the item index, and nothing is published', async () => {
    const ok = `future-ok.${tag}@example.com`;
    const r = await post(JSON.stringify([
      { attributes: { email: ok } },
      { attributes: { email: `future.${tag}@example.com`, ts: '2030-01-01T00:00:00Z' } },
      { attributes: { email: `future2.${tag}@example.com`, ts: Date.now() + 3_600_000 + 60_000 } },
    ]));
    expectInvalids(r, [[1, /^`ts` is more than 1 hour after the time the item was received \(got 2030-01-01T00:00:00.000Z, received at /], [2, '`ts`']]);
    await new Promise((res) => setTimeout(res, 500));
    expect((await get(`email=${encodeURIComponent(ok)}`)).status).toBe(404);
  });

  it('when a ts is up to 1 hour ahead (clock skew), then it is accepted', async () => {
    const email = `skew.${tag}@example.com`;
    const r = await post(JSON.stringify({ attributes: { email, ts: Math.floor(Date.now() / 1000) + 3600 } }));
    expect(r.status).toBe(202);
  });
});

describe('given phone numbers that are not possible', () => {
  it.each([
    ['7 digits (a local number without area code)', '555-1234'],
    ['too many digits', '+1 555 867 5309 9'],
    ['letters', '1-800-FLOWERS'],
    ['text around the number', 'call 555-867-5309'],
    ['an unknown country code', '+999 123 4567'],
    ['an extension', '+1 555 867 5309 ext. 12'],
  ])('when the phone has %s, then 400 naming phone and the item index', async (_what, phone) => {
    const r = await post(JSON.stringify([{ attributes: { email: `ph-ok.${tag}@example.com` } }, { attributes: { email: `ph.${tag}@example.com`, phone } }]));
    expectInvalids(r, [[1, '`phone`']]);
  });
});

describe('given bad query strings', () => {
  it.each([
    ['several identifiers', 'email=a%40b.co&phone=5551234567', /exactly one identifier.*email, phone/],
    ['no parameter', '', /exactly one identifier/],
    ['an unknown identifier type', 'first_name=Ann', /not an identifier type/],
    ['a repeated parameter', 'email=a%40b.co&email=c%40d.co', /email/],
    ['an empty value', 'email=', /must not be empty/],
    ['a parameter without a value', 'email', /must not be empty/],
    ['a blank value', 'vuid=%20%20', /must not be empty/],
    ['an identifier and an unknown parameter', 'email=a%40b.co&debug=1', /exactly one identifier/],
    ['an invalid email', 'email=not-an-email', /email/],
    ['a phone with too few digits', 'phone=123', /phone/],
    ['a phone that is not possible', 'phone=555-1234', /`phone` must be a possible phone number/],
    ['an identifier over 255 characters', `vuid=${'v'.repeat(300)}`, /vuid/],
  ])('when the query has %s, then 400 with detail.message', async (_what, query, pattern) => {
    expectBodyError(await get(query), pattern);
  });

  it('when the value is a placeholder (null, anonymous…), then 404, never a match', async () => {
    for (const v of ['null', 'anonymous', 'undefined', '0']) {
      expect((await get(`vuid=${v}`)).status).toBe(404);
    }
  });
});

describe('given bad POST /v3/events bodies (DESIGN §10: precise 400 naming the field and index, never a 5xx)', () => {
  const postEvents = (body: string | Buffer, headers: Record<string, string> = {}) =>
    rawRequest(server.url, {
      method: 'POST',
      path: '/v3/events',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-api-key': server.publicKey, ...headers },
      body,
    });
  const event = (over: string) => `{"type":"order","identifiers":{"vuid":"ev-${tag}"}${over}}`;

  it.each([
    ['truncated JSON', '[{"type": "order",'],
    ['NaN literals', '{"type":"order","identifiers":{"vuid":"v"},"data":{"n":NaN}}'],
    ['two JSON documents', `${event('')} ${event('')}`],
    ['an empty body', ''],
    ['a number', '42'],
    ['an empty array', '[]'],
  ])('when the body is %s, then 400 with detail.message', async (_what, body) => {
    expectBodyError(await postEvents(body));
  });

  it('when the body nests arrays or objects 100,000 levels deep, then 400 quickly', async () => {
    expectInvalids(await postEvents('['.repeat(100_000) + ']'.repeat(100_000)), [[0, 'item must be an object']]);
    expectInvalids(await postEvents('{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)), [[0, /`type`/]]);
  });

  it('when a data value or an identifier nests 100,000 levels deep, then 400 naming it', async () => {
    expectInvalids(await postEvents(event(`,"data":{"x":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`)), [[0, '`data.x`']]);
    expectInvalids(await postEvents(`{"type":"order","identifiers":{"vuid":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`), [[0, '`identifiers.vuid`']]);
  });

  it('when an item has 100,000 data fields or 100,000 identifier types, then 400 naming the limit or the types', async () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => `"k${i}":${i}`).join(',');
    expectInvalids(await postEvents(event(`,"data":{${keys}}`)), [[0, /`data` must hold at most 256 fields/]]);
    const r = await postEvents(`{"type":"order","identifiers":{${keys.replace(/:\d+/g, ':"x"')}}}`);
    expectInvalids(r, [[0, /`identifiers.k0` is not an identifier type.*and 99990 more/]]);
  });

  it.each([
    ['__proto__ at the top', '{"__proto__":{"type":"order"},"type":"order","identifiers":{"vuid":"v"}}', '__proto__'],
    ['__proto__ in identifiers', '{"type":"order","identifiers":{"vuid":"v","__proto__":{"email":"x@example.com"}}}', '`identifiers.__proto__`'],
    ['__proto__ as identifiers', '{"type":"order","identifiers":{"__proto__":{"vuid":"v"}}}', '`identifiers.__proto__`'],
    ['constructor in data', event(',"data":{"constructor":{"prototype":{"polluted":1}}}'), '`constructor`'],
    ['__proto__ in data', event(',"data":{"__proto__":{"polluted":1}}'), '`__proto__`'],
    ['prototype as an identifier type', '{"type":"order","identifiers":{"vuid":"v","prototype":"x"}}', '`identifiers.prototype`'],
  ])('when an event has %s, then 400 naming it and nothing is polluted', async (_what, body, field) => {
    expectInvalids(await postEvents(body), [[0, field]]);
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it.each([
    ['a SQL injection as the type', `{"type":"order'; DROP TABLE profile_events;--","identifiers":{"vuid":"v"}}`, '`type`'],
    ['a SQL injection as an identifier type', `{"type":"order","identifiers":{"vuid' OR '1'='1":"v"}}`, "`identifiers.vuid' OR '1'='1`"],
    ['NUL in a data value', event(',"data":{"note":"a\\u0000b"}'), '`data.note`'],
    ['NUL in an identifier', '{"type":"order","identifiers":{"vuid":"a\\u0000b"}}', '`identifiers.vuid`'],
    ['a lone surrogate in data', event(',"data":{"note":"a\\ud800"}'), '`data.note`'],
    ['1e400 in data', event(',"data":{"n":1e400}'), '`data.n`'],
    ['data.ts of 1e400', event(',"data":{"ts":1e400}'), '`data.ts`'],
    ['data.ts of -1', event(',"data":{"ts":-1}'), '`data.ts`'],
    ['a customer_id beyond 2^53', '{"type":"order","identifiers":{"customer_id":12345678901234567890}}', '`identifiers.customer_id`'],
    ['a control character in the type', '{"type":"ord\\u0007er","identifiers":{"vuid":"v"}}', '`type`'],
  ])('when an event has %s, then 400 naming the field', async (_what, body, field) => {
    expectInvalids(await postEvents(body), [[0, field]]);
  });

  it('when the body holds invalid UTF-8 bytes, then 400', async () => {
    const body = Buffer.concat([Buffer.from('{"type":"order","identifiers":{"vuid":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]);
    expectBodyError(await postEvents(body));
  });

  it('when the body is not JSON, then 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      expect({ type, status: (await postEvents('type=order', { 'content-type': type })).status }).toEqual({ type, status: 415 });
    }
  });

  it('when the declared Content-Length is over the limit, then 413 before the body is read', async () => {
    const r = await startSlowRequest(server.url, {
      path: '/v3/events',
      headers: { 'content-type': 'application/json', 'x-api-key': server.publicKey },
      body: Buffer.from(JSON.stringify([{ type: 'order', identifiers: { vuid: 'v' }, data: { blob: 'x'.repeat(5 * 1024 * 1024) } }])),
      firstBytes: 0,
    }).response;
    expect({ status: r.status, error: r.error }).toEqual({ status: 413, error: undefined });
  });
});

describe('given bad bodies and query strings on the /api/v1 profile writes (DESIGN §12: 400 malformed, 422 naming each field, never a 5xx)', () => {
  const customer = `bad-${tag}`;
  let routes: Array<[string, string, 'profile' | 'contact' | 'customer']>;

  function write(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
    return rawRequest(server.url, {
      method,
      path,
      headers: { authorization: `Bearer ${server.privateKey}`, ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers },
      body,
    });
  }

  /** problem+json with `status`, bounded whatever the input; a 422 names every field in `fields` (in any order). */
  function expectProblemOf(r: RawResponse, status: number, fields?: string[]) {
    expect({ status: r.status, type: r.headers['content-type'] }).toEqual({ status, type: expect.stringMatching(/^application\/problem\+json/) });
    expect(r.json).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String), instance: expect.stringMatching(/^\/api\/v1\//) });
    expect(r.text.length).toBeLessThan(16 * 1024);
    if (fields) expect((r.json.errors as Array<{ field: string }>).map((e) => e.field)).toEqual(expect.arrayContaining(fields));
  }

  beforeAll(async () => {
    const created = await write('POST', '/api/v1/profiles', JSON.stringify({ attributes: { email: `writes.${tag}@example.com` } }));
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    const contactId = created.json.contacts[0].contact_id as string;
    const owned = await write('POST', `/api/v1/customers/${customer}/profiles`, JSON.stringify({ attributes: { username: `bad.${tag}` } }));
    expect(owned.status).toBe(201);
    routes = [
      ['POST', '/api/v1/profiles', 'profile'],
      ['PUT', `/api/v1/profiles/${id}`, 'profile'],
      ['PATCH', `/api/v1/profiles/${id}`, 'profile'],
      ['POST', `/api/v1/profiles/${id}/contacts`, 'contact'],
      ['PUT', `/api/v1/profiles/${id}/contacts/${contactId}`, 'contact'],
      ['PATCH', `/api/v1/profiles/${id}/contacts/${contactId}`, 'contact'],
      ['POST', `/api/v1/customers/${customer}/profiles`, 'customer'],
      ['PUT', `/api/v1/customers/${customer}/profiles/${owned.json.id}`, 'customer'],
    ];
  });

  it('when the JSON is malformed, empty or not UTF-8, then 400 on every write route', async () => {
    const bodies: Array<string | Buffer> = ['{"attributes": {', '{"attributes":{"email":"a@b.co",}}', '{"n":NaN}', '{"a":1} {"b":2}', '', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])];
    for (const [method, path] of routes) for (const body of bodies) expectProblemOf(await write(method, path, body), 400);
  });

  it('when the body is not an object, then 422 at the root (`$`) on every write route', async () => {
    for (const [method, path] of routes) for (const body of ['"hello"', '42', 'null', 'true', '[]', '[{"attributes":{}}]']) expectProblemOf(await write(method, path, body), 422, ['$']);
  });

  it('when fields are unknown (prototype keys included), then 422 naming each', async () => {
    for (const [method, path] of routes) {
      expectProblemOf(await write(method, path, '{"nickname":1,"__proto__":{"admin":true},"constructor":{"prototype":1}}'), 422, ['nickname', '__proto__', 'constructor']);
    }
  });

  it('when every profile field has the wrong type, then 422 naming each one', async () => {
    const body = JSON.stringify({ attributes: 'x', status: 1, tags: 'x', password: 5, contacts: {}, is_primary: 'yes' });
    for (const [method, path, kind] of routes) {
      if (kind === 'contact') expectProblemOf(await write(method, path, JSON.stringify({ key: 5, value: ['x'] })), 422, ['key']);
      else expectProblemOf(await write(method, path, body), 422, ['attributes', 'status', 'tags', 'password', 'contacts', 'is_primary']);
    }
  });

  it('when attribute names and values break the /v3 rules (huge numbers, NUL, lone surrogates, nesting, __proto__), then 422 at attributes.<name>', async () => {
    const body = '{"attributes":{"email":"x.' + tag + '@example.com","n":1e400,"z":"a\\u0000b","s":"a\\ud800b","deep":[[[[1]]]],"obj":{"a":1},"__proto__":1,"Bad Name":1,"ts":1}}';
    const fields = ['attributes.n', 'attributes.z', 'attributes.s', 'attributes.deep', 'attributes.obj', 'attributes.__proto__', 'attributes.Bad Name', 'attributes.ts'];
    for (const [method, path, kind] of routes) if (kind !== 'contact') expectProblemOf(await write(method, path, body), 422, fields);
  });

  it('when tags, contacts and attributes are far too many, then one bounded 422 each', async () => {
    const many = <T,>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
    const attributes = Object.fromEntries(many(10_000, (i) => [`a${i}`, i]));
    const body = JSON.stringify({ attributes, tags: many(10_000, (i) => `t${i}`), contacts: many(10_000, (i) => ({ key: 'email', value: `c${i}@x.co` })) });
    for (const [method, path, kind] of routes) if (kind !== 'contact') expectProblemOf(await write(method, path, body), 422, ['attributes', 'tags', 'contacts']);
  });

  it('when contacts are wrong (unknown type, zaius_id, placeholder, impossible phone), then 422 at contacts[i].key|value', async () => {
    const contacts = [{ key: 'fax', value: '1' }, { key: 'zaius_id', value: '0190a000-0000-7000-8000-000000000001' }, { key: 'email', value: 'null' }, { key: 'phone', value: '555-1234' }];
    const r = await write('POST', '/api/v1/profiles', JSON.stringify({ attributes: { vuid: `v-${tag}` }, contacts }));
    expectProblemOf(r, 422, ['contacts[0].key', 'contacts[1].key', 'contacts[2].value', 'contacts[3].value']);
  });

  it('when a write route gets a query string, then 400 naming the parameter', async () => {
    for (const [method, path] of routes) {
      const r = await write(method, `${path}?debug=1`, '{}');
      expectProblemOf(r, 400);
      expect(r.json.detail).toContain('`debug`');
    }
  });

  it('when the body is not JSON or the path names nothing, then 415 and 404', async () => {
    for (const [method, path] of routes) expectProblemOf(await write(method, path, 'a=1', { 'content-type': 'application/x-www-form-urlencoded' }), 415);
    for (const path of ['/api/v1/profiles/not-a-uuid', '/api/v1/profiles/0190a000-0000-7000-8000-0000000000ff/contacts/%00', `/api/v1/customers/${'%20'.repeat(3)}/profiles/0190a000-0000-7000-8000-0000000000ff`]) {
      expectProblemOf(await write('PUT', path, '{"attributes":{"first_name":"x"}}'), 404);
    }
  });
});

describe('after the whole barrage', () => {
  it('then a normal batch is accepted and applied, and memory stayed bounded', async () => {
    const email = `final.${tag}@example.com`;
    expect((await post(JSON.stringify([{ attributes: { email, first_name: 'Final' } }]))).status).toBe(202);
    expect((await api.until(`email=${encodeURIComponent(email)}`)).attributes.first_name).toBe('Final');
    const rssAfter = rssMiB(server.process.pid!);
    expect(rssBefore).toBeLessThan(RSS_CEILING_MIB);
    expect(rssAfter).toBeLessThan(RSS_CEILING_MIB);
  });
});
