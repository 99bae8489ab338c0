// Issue 10 items 4–6 (DESIGN §10): identifier schema, field schema enforced on ingest, plural
// identifiers on look-ups — over HTTP against the single-node server, as an ODP client sees them.
import fc from 'fast-check';
import { parseFieldRequest, parseIdentifierRequest, SchemaRequestError } from '@tessera/schema';
import { ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

let server: SingleNode;
let profiles: ProfilesClient;

beforeAll(async () => {
  server = await startSingleNode();
  profiles = new ProfilesClient(server.url, server.publicKey, server.privateKey);
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  server.cleanup();
});

interface Answer {
  status: number;
  body: any;
}

/** A schema route, with the private key unless told otherwise. */
async function api(method: 'GET' | 'POST', path: string, body?: unknown, key: string | null = server.privateKey): Promise<Answer> {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(key ? { 'x-api-key': key } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json().catch(() => undefined) };
}

const IDENTIFIERS = '/v3/schema/identifiers';
const FIELDS = '/v3/schema/objects/customers/fields';

/** 400 `{title, status, timestamp, detail: {invalids: [{field, reason}]}}` naming exactly these fields. */
function expectFieldInvalids(r: Answer, fields: string[], reason?: RegExp) {
  expect(r.status).toBe(400);
  expect(r.body).toEqual({ title: 'Bad Request', status: 400, timestamp: expect.stringMatching(ISO), detail: { invalids: expect.any(Array) } });
  expect(r.body.detail.invalids.map((i: { field: string }) => i.field)).toEqual(fields);
  for (const i of r.body.detail.invalids) expect(i).toEqual({ field: expect.any(String), reason: expect.any(String) });
  if (reason) expect(r.body.detail.invalids[0].reason).toMatch(reason);
}

const NAME_IN_USE = { field: 'customers.name', reason: 'already used by another object' };

describe('given the identifier schema (POST|GET /v3/schema/identifiers)', () => {
  it('when a custom type is declared, then 201 with the ODP answer, and upserts, look-ups and the plural attribute use it', async () => {
    const created = await api('POST', IDENTIFIERS, { name: 'fs_user_id', display_name: 'FS User ID', merge_confidence: 'high', messaging: false });
    expect(created).toEqual({
      status: 201,
      body: {
        events: [{ name: 'event_fs_user_id', display_name: 'Event FS User ID', type: 'identifier' }],
        customers: [{ name: 'fs_user_id', display_name: 'Last Seen FS User ID', type: 'identifier' }],
      },
    });
    // Applies to records accepted from now on (this process dropped its cached rules at once).
    expect((await profiles.post({ attributes: { fs_user_id: ' FS-1 ', first_name: 'Fay' } })).status).toBe(202);
    const found = await profiles.until('fs_user_id=FS-1');
    expect(found.attributes).toMatchObject({ first_name: 'Fay', fs_user_id: 'FS-1', fs_user_ids: ['FS-1'] });
    expect(found.identifiers).toEqual({ fs_user_id: ['FS-1'] });
    // High confidence: it merges with the email's person like a built-in type would.
    await profiles.post({ attributes: { email: 'fay@example.com', last_name: 'Lee' } });
    await profiles.until('email=fay@example.com');
    await profiles.post({ attributes: { email: 'fay@example.com', fs_user_id: 'FS-1' } });
    const merged = await profiles.until('fs_user_id=FS-1', (p) => p.attributes.last_name === 'Lee');
    expect(merged.attributes).toMatchObject({ first_name: 'Fay', emails: ['fay@example.com'], fs_user_ids: ['FS-1'] });
  });

  it('when the types are listed, then built-ins come first, then custom ones with their display name', async () => {
    const listed = await api('GET', IDENTIFIERS);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({
      identifiers: [
        { name: 'customer_id', display_name: 'Customer ID', merge_confidence: 'high', messaging: false },
        { name: 'email', display_name: 'Email', merge_confidence: 'high', messaging: true },
        { name: 'phone', display_name: 'Phone', merge_confidence: 'high', messaging: true },
        { name: 'username', display_name: 'Username', merge_confidence: 'high', messaging: false },
        { name: 'vuid', display_name: 'VUID', merge_confidence: 'low', messaging: false },
        { name: 'fs_user_id', display_name: 'FS User ID', merge_confidence: 'high', messaging: false },
      ],
    });
  });

  it.each([
    ['a custom type declared again', 'fs_user_id'],
    ['a built-in type', 'customer_id'],
  ])('when %s is declared, then 400 customers.name "already used by another object"', async (_, name) => {
    const r = await api('POST', IDENTIFIERS, { name, display_name: 'Again', merge_confidence: 'low', messaging: false });
    expect(r).toEqual({ status: 400, body: { title: 'Bad Request', status: 400, timestamp: expect.stringMatching(ISO), detail: { invalids: [NAME_IN_USE] } } });
  });

  it('when a declared customer field has the name, then the identifier is refused as in use', async () => {
    expect((await api('POST', FIELDS, { name: 'club_card_id', type: 'string', display_name: 'Club card' })).status).toBe(200);
    const r = await api('POST', IDENTIFIERS, { name: 'club_card_id', display_name: 'Club card', merge_confidence: 'high' });
    expect(r.status).toBe(400);
    expect(r.body.detail).toEqual({ invalids: [NAME_IN_USE] });
    expect((await api('GET', IDENTIFIERS)).body.identifiers.map((t: { name: string }) => t.name)).not.toContain('club_card_id');
  });

  it.each([
    [{ name: 'fsUserId', display_name: 'X', merge_confidence: 'high' }, ['name'], /must match/],
    [{ name: 'loyalty', display_name: 'X', merge_confidence: 'high' }, ['name'], /_\(id\|hash\|number\|token\|alias\|address\|key\)/],
    [{ name: 42, display_name: 'X', merge_confidence: 'high' }, ['name'], /must match/],
    [{ display_name: 'X', merge_confidence: 'high' }, ['name'], /is required/],
    [{ name: 'a_id', merge_confidence: 'high' }, ['display_name'], /is required/],
    [{ name: 'a_id', display_name: '', merge_confidence: 'high' }, ['display_name'], /non-empty/],
    [{ name: 'a_id', display_name: 'X' }, ['merge_confidence'], /required/],
    [{ name: 'a_id', display_name: 'X', merge_confidence: 'medium' }, ['merge_confidence'], /"high" or "low"/],
    [{ name: 'a_id', display_name: 'X', merge_confidence: 'high', messaging: 'no' }, ['messaging'], /boolean/],
    [{ name: 'a_id', display_name: 'X', merge_confidence: 'high', colour: 'red' }, ['colour'], /not a field/],
    [{ name: 'A', display_name: 7, merge_confidence: 1 }, ['name', 'display_name', 'merge_confidence'], undefined],
  ])('when the body is %j, then 400 naming %j and nothing is declared', async (body, fields, reason) => {
    expectFieldInvalids(await api('POST', IDENTIFIERS, body), fields, reason);
    expect((await api('GET', IDENTIFIERS)).body.identifiers).toHaveLength(6);
  });

  it.each([['[]'], ['"x"'], ['null'], ['{"name":']])('when the body is %s, then 400 with detail.message (never a 5xx)', async (raw) => {
    const r = await api('POST', IDENTIFIERS, raw);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ title: 'Bad Request', status: 400, timestamp: expect.stringMatching(ISO), detail: { message: expect.any(String) } });
  });

  it('when a public key, no key or an unknown key is used, then 403 and nothing is declared', async () => {
    const body = { name: 'other_id', display_name: 'Other', merge_confidence: 'low' };
    for (const key of [server.publicKey, null, 'tsk_unknown']) {
      expect(await api('POST', IDENTIFIERS, body, key)).toEqual({ status: 403, body: { message: 'Forbidden' } });
      expect(await api('POST', FIELDS, { name: 'x', type: 'string', display_name: 'X' }, key)).toEqual({ status: 403, body: { message: 'Forbidden' } });
    }
    for (const key of [server.publicKey, null]) {
      expect((await api('GET', IDENTIFIERS, undefined, key)).status).toBe(403);
      expect((await api('GET', FIELDS, undefined, key)).status).toBe(403);
    }
    expect((await api('GET', IDENTIFIERS)).body.identifiers.map((t: { name: string }) => t.name)).not.toContain('other_id');
  });
});

describe('given the field schema (/v3/schema/objects/customers/fields)', () => {
  const age = { name: 'age', type: 'number', display_name: 'Age', description: 'Years since birth' };

  it('when a field is declared, then 200 echoes it, GET lists it and GET by name answers it', async () => {
    expect(await api('POST', FIELDS, age)).toEqual({ status: 200, body: age });
    const listed = await api('GET', FIELDS);
    expect(listed.status).toBe(200);
    expect(listed.body.fields).toContainEqual(age);
    expect(await api('GET', `${FIELDS}/age`)).toEqual({ status: 200, body: age });
    expect(await api('POST', FIELDS, { name: 'vip', type: 'boolean', display_name: 'VIP' })).toEqual({
      status: 200,
      body: { name: 'vip', type: 'boolean', display_name: 'VIP', description: null },
    });
  });

  it('when a field is declared twice, or takes an identifier name or plural, then 400 naming `name`', async () => {
    for (const name of ['age', 'email', 'emails', 'fs_user_id', 'fs_user_ids', 'zaius_id', 'ts']) {
      const r = await api('POST', FIELDS, { name, type: 'string', display_name: 'Again' });
      expect({ name, status: r.status, detail: r.body.detail }).toEqual({ name, status: 400, detail: { invalids: [{ field: 'name', reason: 'already used by another object' }] } });
    }
    expect((await api('GET', `${FIELDS}/age`)).body.type).toBe('number');
  });

  it('when a field is not declared, then GET by name is a Zaius-style 404', async () => {
    expect(await api('GET', `${FIELDS}/nosuch`)).toEqual({
      status: 404,
      body: { title: 'Not Found', status: 404, timestamp: expect.stringMatching(ISO), detail: { message: expect.stringContaining('nosuch') } },
    });
  });

  it.each([
    [{ name: 'Bad Name', type: 'string', display_name: 'X' }, ['name']],
    [{ name: 'constructor', type: 'string', display_name: 'X' }, ['name']],
    [{ type: 'string', display_name: 'X' }, ['name']],
    [{ name: 'height', type: 'float', display_name: 'X' }, ['type']],
    [{ name: 'height', display_name: 'X' }, ['type']],
    [{ name: 'height', type: 'number' }, ['display_name']],
    [{ name: 'height', type: 'number', display_name: 'X', description: 5 }, ['description']],
    [{ name: 'height', type: 'number', display_name: 'X', unit: 'cm' }, ['unit']],
  ])('when the body is %j, then 400 naming %j and nothing is declared', async (body, fields) => {
    expectFieldInvalids(await api('POST', FIELDS, body), fields);
    expect((await api('GET', `${FIELDS}/height`)).status).toBe(404);
  });

  it('when an upsert sets a declared field to a value of another type, then the item is invalid naming the field and its type', async () => {
    await api('POST', FIELDS, { name: 'joined_at', type: 'timestamp', display_name: 'Joined' });
    const r = await profiles.post([
      { attributes: { email: 'typed@example.com', age: 30 } },
      { attributes: { email: 'typed@example.com', age: 'thirty' } },
      { attributes: { email: 'typed@example.com', vip: 'yes', joined_at: 'last year' } },
    ]);
    expect(r.status).toBe(400);
    const invalids = r.body.detail.invalids as Array<{ event: number; message: string }>;
    expect(invalids.map((i) => i.event)).toEqual([1, 2]);
    expect(invalids[0].message).toMatch(/`age`.*number/);
    expect(invalids[1].message).toMatch(/`vip`.*boolean/);
    expect(invalids[1].message).toMatch(/`joined_at`.*timestamp/);
    // All-or-nothing: item 0 was not published either.
    expect((await profiles.get('email=typed@example.com')).status).toBe(404);
  });

  it('when values have the declared types, or are null, or attributes are undeclared, then they are accepted', async () => {
    const minuteAgo = Math.floor(Date.now() / 1000) - 60;
    const ok = await profiles.post([
      { attributes: { email: 'typed@example.com', ts: minuteAgo, age: 30, vip: true, joined_at: '2024-05-01T12:00:00Z', shoe_size: '42' } },
      { attributes: { email: 'typed@example.com', age: null } }, // later (received now): clears
    ]);
    expect(ok.status).toBe(202);
    const found = await profiles.until('email=typed@example.com', (p) => p.attributes.vip === true && !('age' in p.attributes));
    expect(found.attributes).toMatchObject({ joined_at: '2024-05-01T12:00:00Z', shoe_size: '42' });
  });
});

describe('given plural identifiers on look-ups', () => {
  it('when a profile has 27 emails, then `emails` holds the 25 most recently seen, newest first, and `email` the last seen', async () => {
    const base = Math.floor(Date.now() / 1000) - 3600;
    // Newest sighting = highest ts; e00 is sent last but is the oldest sighting.
    const items = Array.from({ length: 26 }, (_, i) => ({ attributes: { customer_id: 'plural-1', email: `e${String(i + 1).padStart(2, '0')}@plural.example`, ts: base + i + 1 } }));
    items.push({ attributes: { customer_id: 'plural-1', email: 'e00@plural.example', ts: base } });
    expect((await profiles.post(items)).status).toBe(202);
    const found = await profiles.until('customer_id=plural-1', (p) => p.identifiers.email?.length === 27);
    const expected = Array.from({ length: 25 }, (_, i) => `e${String(26 - i).padStart(2, '0')}@plural.example`);
    expect(found.attributes.emails).toEqual(expected);
    expect(found.attributes.email).toBe('e26@plural.example');
    expect(found.attributes.customer_ids).toEqual(['plural-1']);
    expect(found.attributes).not.toHaveProperty('phones');
    expect(found.attributes).not.toHaveProperty('vuids');

    // An old email seen again becomes the most recent.
    expect((await profiles.post({ attributes: { customer_id: 'plural-1', email: 'e03@plural.example', ts: base + 100 } })).status).toBe(202);
    const again = await profiles.until('email=e03@plural.example', (p) => p.attributes.emails[0] === 'e03@plural.example');
    expect(again.attributes.email).toBe('e03@plural.example');
    expect(again.attributes.emails).toHaveLength(25);
  });

  it.each([['emails'], ['phones'], ['vuids'], ['customer_ids'], ['fs_user_ids']])(
    'when an upsert sets the reserved plural name `%s`, then the item is invalid naming it',
    async (plural) => {
      const r = await profiles.post([{ attributes: { email: 'ok@example.com' } }, { attributes: { email: 'reserved@example.com', [plural]: ['x'] } }]);
      expect(r.status).toBe(400);
      expect(r.body.detail.invalids).toEqual([{ event: 1, message: expect.stringContaining(`\`${plural}\` is reserved`) }]);
    },
  );
});

describe('given random bodies on the schema routes (fuzz, bounded)', () => {
  const nameLike = fc.oneof(
    fc.stringMatching(/^[a-z][a-z0-9_]{0,10}_(id|hash|number|token|alias|address|key)$/),
    fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/),
    fc.constantFrom('email', 'emails', 'customer_id', 'zaius_id', 'ts', '__proto__', 'constructor', '', 'A_id', 'fs_user_id'),
    fc.string({ maxLength: 12 }),
    fc.jsonValue({ maxDepth: 1 }),
  );
  const text = fc.oneof(fc.string({ maxLength: 20, unit: 'binary' }), fc.constant(null), fc.integer(), fc.constant('X'));
  const identifierBody = fc.oneof(
    { weight: 4, arbitrary: fc.record({ name: nameLike, display_name: text, merge_confidence: fc.oneof(fc.constantFrom('high', 'low', 'HIGH'), text), messaging: fc.oneof(fc.boolean(), text) }, { requiredKeys: [] }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );
  const fieldBody = fc.oneof(
    { weight: 4, arbitrary: fc.record({ name: nameLike, type: fc.oneof(fc.constantFrom('string', 'number', 'timestamp', 'boolean', 'float'), text), display_name: text, description: text }, { requiredKeys: [] }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );

  /** Never a 5xx; a refusal is 400 in one of the two documented shapes; an acceptance is listed afterwards. */
  async function checkAnswer(path: string, body: unknown, created: number, parse: (b: unknown) => { name: string }, listed: () => Promise<string[]>) {
    const r = await api('POST', path, JSON.stringify(body));
    let accepted: { name: string } | undefined;
    try {
      accepted = parse(body);
    } catch (error) {
      if (!(error instanceof SchemaRequestError)) throw error;
    }
    if (!accepted) {
      expect({ body, status: r.status }).toEqual({ body, status: 400 });
      expect(Object.keys(r.body.detail)).toEqual([error400Key(r.body.detail)]);
      return;
    }
    // Well-formed: created, or refused only because the name is taken.
    if (r.status === 400) expect(r.body.detail.invalids).toEqual([{ field: expect.stringMatching(/^(customers\.)?name$/), reason: 'already used by another object' }]);
    else {
      expect(r.status).toBe(created);
      expect(await listed()).toContain(accepted.name);
    }
  }
  const error400Key = (detail: Record<string, unknown>) => ('invalids' in detail ? 'invalids' : 'message');

  it('then POST /v3/schema/identifiers answers 201 or a documented 400, never a 5xx, and lists what it accepted', async () => {
    await fc.assert(
      fc.asyncProperty(identifierBody, (body) =>
        checkAnswer(IDENTIFIERS, body, 201, parseIdentifierRequest, async () => (await api('GET', IDENTIFIERS)).body.identifiers.map((t: { name: string }) => t.name)),
      ),
      { numRuns: 120 },
    );
  }, 120_000);

  it('then POST …/customers/fields answers 200 or a documented 400, never a 5xx, and lists what it accepted', async () => {
    await fc.assert(
      fc.asyncProperty(fieldBody, (body) =>
        checkAnswer(FIELDS, body, 200, parseFieldRequest, async () => (await api('GET', FIELDS)).body.fields.map((f: { name: string }) => f.name)),
      ),
      { numRuns: 120 },
    );
  }, 120_000);

  it('then GET …/fields/{name} with any name is 200 or a Zaius 404, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 40 }), async (name) => {
        const r = await api('GET', `${FIELDS}/${encodeURIComponent(name)}`);
        expect([200, 404]).toContain(r.status);
        if (r.status === 404) expect(r.body).toMatchObject({ title: 'Not Found', status: 404 });
      }),
      { numRuns: 80 },
    );
  }, 60_000);
});
