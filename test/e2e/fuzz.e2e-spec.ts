// Issue 5 §2 (and issue 10 for POST /v3/events): fuzz (fast-check, bounded) POST /v3/profiles and POST /v3/events with random bodies — arbitrary JSON, random
// bytes, near-valid batches with random names, values and identifiers — under random content types.
// Properties: never a 5xx; the answer is the validator's verdict (202 exactly when the body is valid);
// the server stays alive; and every item of every 202'd body is eventually queryable by one of its
// identifiers (normalised with the identity lib).
import fc from 'fast-check';
import { validateEventBody, validateProfileUpsertBody } from '@tessera/contracts';
import { extractIdentifiers, IdentifierRules, ZAIUS_ID } from '@tessera/identity';
import { isAlive, mapLimit, rawRequest, RawResponse } from '../support/faults/http';
import { parseContactBody, parseProfileBody } from '../../libs/profile-api/src/profiles/profile-body';
import { ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const RUNS = 150;
const rules = IdentifierRules.defaults();

let server: SingleNode;
let api: ProfilesClient;

beforeAll(async () => {
  server = await startSingleNode({ env: { TESSERA_PARTITIONS: '1' } });
  api = new ProfilesClient(server.url, server.publicKey, server.privateKey);
});

afterAll(async () => {
  expect(await server.stop('SIGTERM')).toBe(0);
  server.cleanup();
});

// ------------------------------------------------------------------ generators

const shortString = fc.string({ maxLength: 24, unit: 'binary' });
const validName = fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/);
const attributeName = fc.oneof(
  { weight: 6, arbitrary: validName },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'ts', 'Email', 'a-b', '') },
);
const attributeValue = fc.oneof(
  { weight: 4, arbitrary: shortString },
  { weight: 2, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(fc.oneof(shortString, fc.integer(), fc.double()), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const placeholder = fc.constantFrom('', ' ', 'null', 'undefined', 'anonymous', 'Guest', '0', '-1', 'none', 'NaN', '[object Object]');
const identifiers = fc.record(
  {
    email: fc.oneof({ weight: 4, arbitrary: fc.emailAddress() }, { weight: 1, arbitrary: shortString }, { weight: 1, arbitrary: placeholder }),
    phone: fc.oneof(fc.stringMatching(/^\+?[0-9 ().-]{7,18}$/), shortString, fc.integer()),
    customer_id: fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.integer(), fc.double(), placeholder),
    vuid: fc.oneof({ weight: 3, arbitrary: fc.uuid() }, { weight: 1, arbitrary: shortString }, { weight: 1, arbitrary: placeholder }, { weight: 1, arbitrary: fc.boolean() }),
  },
  { requiredKeys: [] },
);
const ts = fc.oneof(
  fc.integer({ min: 0, max: 99_999_999_999 }),
  fc.integer({ min: 100_000_000_000, max: 4_102_444_800_000 }),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  shortString,
  fc.double(),
);
const item = fc
  .tuple(identifiers, fc.dictionary(attributeName, attributeValue, { maxKeys: 6 }), fc.option(ts, { nil: undefined }))
  .map(([ids, extra, t]) => ({ attributes: { ...extra, ...ids, ...(t === undefined ? {} : { ts: t }) } }));

// Mostly valid items (so that many bodies are accepted): plain names, storable values, a real identifier.
const validValue = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxLength: 4 }),
);
const validIdentifier = fc.oneof(
  fc.emailAddress().map((email) => ({ email })),
  fc.stringMatching(/^(\+1 ?)?[2-9][0-9]{2}[ -]?[0-9]{3}-?[0-9]{4}$/).map((phone) => ({ phone })), // possible US numbers (DESIGN §5)
  fc.oneof(fc.stringMatching(/^[A-Za-z0-9-]{3,20}$/), fc.integer({ min: 1, max: 2 ** 40 })).map((customer_id) => ({ customer_id })),
  fc.uuid().map((vuid) => ({ vuid })),
);
const validItem = fc
  .tuple(
    fc.array(validIdentifier, { minLength: 1, maxLength: 3 }),
    fc.dictionary(validName.filter((n) => !['ts', 'constructor', 'prototype', 'zaius_id', 'email', 'phone', 'customer_id', 'vuid'].includes(n)), validValue, { maxKeys: 5 }),
    fc.option(fc.integer({ min: 946_684_800, max: 1_735_689_599 }), { nil: undefined }), // 2000–2024: never in the future
  )
  .map(([ids, extra, t]) => ({ attributes: Object.assign({}, extra, ...ids, t === undefined ? {} : { ts: t }) as Record<string, unknown> }));
const nearValidBatch = fc.oneof(
  { weight: 3, arbitrary: fc.oneof(validItem, fc.array(validItem, { minLength: 1, maxLength: 5 })) },
  { weight: 2, arbitrary: fc.oneof(item, fc.array(fc.oneof(item, validItem), { minLength: 1, maxLength: 5 })) },
);

type Body = { kind: 'json'; value: unknown } | { kind: 'bytes'; value: Uint8Array };
const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 6, arbitrary: nearValidBatch.map((value) => ({ kind: 'json' as const, value })) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => ({ kind: 'json' as const, value })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((value) => ({ kind: 'bytes' as const, value })) },
);
const contentType = fc.oneof(
  { weight: 14, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'Application/JSON', 'text/plain', 'application/x-www-form-urlencoded', 'text/json', 'application/octet-stream') },
  { weight: 1, arbitrary: fc.stringMatching(/^[!-~][ -~]{0,30}$/) },
);

// ------------------------------------------------------------------ property

interface Accepted {
  items: Array<{ attributes: Record<string, unknown> }>;
}

describe('given random bodies posted to the single-node server', () => {
  it(`then over ${RUNS} runs: no 5xx, the answer matches the validator, the server stays up, and every 202'd item is queryable`, async () => {
    const accepted: Accepted[] = [];
    const statuses: Record<string, number> = {};

    await fc.assert(
      fc.asyncProperty(body, contentType, async (b, type) => {
        const payload = b.kind === 'json' ? Buffer.from(JSON.stringify(b.value) ?? 'null') : Buffer.from(b.value);
        const r: RawResponse = await rawRequest(server.url, {
          method: 'POST',
          path: '/v3/profiles',
          headers: { 'content-type': type, 'content-length': payload.length, 'x-api-key': server.publicKey },
          body: payload,
        });
        statuses[String(r.status ?? r.error)] = (statuses[String(r.status ?? r.error)] ?? 0) + 1;
        expect(r.error).toBeUndefined();
        expect(r.status).toBeLessThan(500);
        expect([202, 400, 413, 415, 429]).toContain(r.status);
        expect(r.json).toBeDefined(); // always a JSON answer

        if (type === 'application/json' && b.kind === 'json') {
          // Sent exactly as JSON: the server decides what the validator decides on the same document.
          const parsed = JSON.parse(payload.toString('utf8'));
          const verdict = validateProfileUpsertBody(parsed, rules);
          if (r.status !== 429) expect({ status: r.status, verdict: verdict.ok }).toEqual({ status: verdict.ok ? 202 : 400, verdict: verdict.ok });
        }
        if (r.status === 202) {
          const parsed = JSON.parse(payload.toString('utf8'));
          accepted.push({ items: (Array.isArray(parsed) ? parsed : [parsed]) as Accepted['items'] });
        }
      }),
      { numRuns: RUNS },
    );
    expect(isAlive(server.process.pid)).toBe(true);
    expect((await rawRequest(server.url, { path: '/health/live' })).status).toBe(200);
    // The generators do reach the interesting answers.
    expect(statuses['202']).toBeGreaterThan(0);
    expect(statuses['400']).toBeGreaterThan(0);

    // Wait for the worker to reach a sentinel posted last (one partition: everything before is applied).
    const sentinel = `sentinel.fuzz.${process.pid}@example.com`;
    expect((await api.post({ attributes: { email: sentinel } })).status).toBe(202);
    await api.until(`email=${encodeURIComponent(sentinel)}`, () => true, 30_000);

    const items = accepted.flatMap((a) => a.items);
    const unreachable = (
      await mapLimit(items, 6, async (it) => {
        const ids = extractIdentifiers(it.attributes, rules).identifiers.filter((i) => i.type !== ZAIUS_ID);
        if (ids.length === 0) return null; // only a zaius_id: not a look-up by a client identifier
        for (const id of ids) {
          const found = await api.get(`${id.type}=${encodeURIComponent(id.value)}`);
          if (found.status === 200) return null;
        }
        return JSON.stringify(it.attributes);
      })
    ).filter((x) => x !== null);
    expect(unreachable).toEqual([]);
  }, 180_000);
});

// ------------------------------------------------------------------ POST /v3/events

const eventName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('fullstack', 'order', 'page', 'product') },
  { weight: 2, arbitrary: validName },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('Order', 'add-to-cart', '', '__proto__'), fc.integer(), fc.constant(null)) },
);
const dataValue = fc.oneof(
  { weight: 6, arbitrary: fc.oneof(fc.string({ maxLength: 24 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)) },
  { weight: 1, arbitrary: attributeValue },
);
const eventData = fc
  .tuple(
    fc.dictionary(attributeName, dataValue, { maxKeys: 5 }),
    fc.option(fc.oneof({ weight: 4, arbitrary: fc.uuid() }, { weight: 1, arbitrary: fc.oneof(fc.constant(''), fc.integer(), shortString) }), { nil: undefined }),
    fc.option(fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 946_684_800, max: 1_735_689_599 }) }, { weight: 1, arbitrary: ts }), { nil: undefined }),
  )
  .map(([extra, idem, t]) => ({ ...extra, ...(idem === undefined ? {} : { idempotence_id: idem }), ...(t === undefined ? {} : { ts: t }) }));
const eventIdentifiers = fc.oneof(
  { weight: 4, arbitrary: fc.array(validIdentifier, { minLength: 1, maxLength: 3 }).map((ids) => Object.assign({}, ...ids) as Record<string, unknown>) },
  { weight: 2, arbitrary: identifiers },
  { weight: 1, arbitrary: fc.dictionary(attributeName, attributeValue, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);
const eventItem = fc
  .record(
    { type: eventName, action: fc.oneof(eventName, fc.constant(null)), identifiers: eventIdentifiers, data: fc.oneof({ weight: 6, arbitrary: eventData }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }) },
    { requiredKeys: [] },
  )
  .map((e) => e as Record<string, unknown>);
const eventBody: fc.Arbitrary<Body> = fc.oneof(
  { weight: 6, arbitrary: fc.oneof(eventItem, fc.array(eventItem, { minLength: 1, maxLength: 5 })).map((value) => ({ kind: 'json' as const, value })) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => ({ kind: 'json' as const, value })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((value) => ({ kind: 'bytes' as const, value })) },
);

describe('given random event bodies posted to POST /v3/events', () => {
  it(`then over ${RUNS} runs: no 5xx, the answer matches the event validator, the server stays up, and every 202'd event's person is queryable`, async () => {
    const accepted: Array<Record<string, unknown>> = [];
    const statuses: Record<string, number> = {};

    await fc.assert(
      fc.asyncProperty(eventBody, contentType, async (b, type) => {
        const payload = b.kind === 'json' ? Buffer.from(JSON.stringify(b.value) ?? 'null') : Buffer.from(b.value);
        const r: RawResponse = await rawRequest(server.url, {
          method: 'POST',
          path: '/v3/events',
          headers: { 'content-type': type, 'content-length': payload.length, 'x-api-key': server.publicKey },
          body: payload,
        });
        statuses[String(r.status ?? r.error)] = (statuses[String(r.status ?? r.error)] ?? 0) + 1;
        expect(r.error).toBeUndefined();
        expect([202, 400, 413, 415, 429]).toContain(r.status);
        expect(r.json).toBeDefined();
        if (r.status === 400 && r.json.detail?.invalids) {
          for (const inv of r.json.detail.invalids) expect(inv).toEqual({ event: expect.any(Number), message: expect.any(String) });
        }

        if (type === 'application/json' && b.kind === 'json') {
          const parsed = JSON.parse(payload.toString('utf8'));
          const verdict = validateEventBody(parsed, rules);
          if (r.status !== 429) expect({ status: r.status, verdict: verdict.ok }).toEqual({ status: verdict.ok ? 202 : 400, verdict: verdict.ok });
        }
        if (r.status === 202) {
          const parsed = JSON.parse(payload.toString('utf8'));
          accepted.push(...((Array.isArray(parsed) ? parsed : [parsed]) as Array<Record<string, unknown>>));
        }
      }),
      { numRuns: RUNS },
    );
    expect(isAlive(server.process.pid)).toBe(true);
    expect(statuses['202']).toBeGreaterThan(0);
    expect(statuses['400']).toBeGreaterThan(0);

    // One partition: once a sentinel posted last is applied, every accepted event before it is too.
    const sentinel = `sentinel.events.${process.pid}@example.com`;
    expect((await api.post({ attributes: { email: sentinel } })).status).toBe(202);
    await api.until(`email=${encodeURIComponent(sentinel)}`, () => true, 30_000);

    // An event's identifiers resolve like an upsert's (DESIGN §10): its person is found by one of them.
    // A repeated idempotence_id (short random strings do repeat) has no effect: only its first event counts.
    const seen = new Set<string>();
    const applied = accepted.filter((e) => {
      const id = (e.data as Record<string, unknown> | undefined)?.idempotence_id;
      if (typeof id !== 'string') return true;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    const unreachable = (
      await mapLimit(applied, 6, async (e) => {
        const ids = extractIdentifiers(e.identifiers as Record<string, unknown>, rules).identifiers.filter((i) => i.type !== ZAIUS_ID);
        if (ids.length === 0) return null;
        for (const id of ids) {
          if ((await api.get(`${id.type}=${encodeURIComponent(id.value)}`)).status === 200) return null;
        }
        return JSON.stringify(e.identifiers);
      })
    ).filter((x) => x !== null);
    expect(unreachable).toEqual([]);
  }, 180_000);
});

// ------------------------------------------------------------------ /api/v1 profile writes (DESIGN §12)

const WRITE_RUNS = 120;
const writeRules = { identifiers: rules };
const contactKey = fc.constantFrom('email', 'phone', 'vuid', 'customer_id', 'username', 'zaius_id', 'fax', '');
const contactValue = fc.oneof(fc.emailAddress(), fc.stringMatching(/^\+1 ?[2-9][0-9]{2} ?[0-9]{3}-?[0-9]{4}$/), shortString, fc.integer(), fc.constant(null));
const contact = fc.oneof(
  { weight: 5, arbitrary: fc.record({ key: contactKey, value: contactValue, contact_id: fc.string({ maxLength: 22 }), uuid: fc.constant(null) }, { requiredKeys: ['key', 'value'] }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);
const tagValue = fc.oneof({ weight: 5, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/) }, { weight: 1, arbitrary: fc.oneof(shortString, fc.integer(), fc.constant('')) });
const profileBody = fc
  .tuple(
    fc.record(
      {
        attributes: fc.oneof({ weight: 4, arbitrary: validItem.map((i) => i.attributes) }, { weight: 2, arbitrary: item.map((i) => i.attributes) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }),
        status: fc.oneof(fc.constantFrom('active', 'closed', 'suspended'), fc.jsonValue({ maxDepth: 1 })),
        tags: fc.oneof({ weight: 4, arbitrary: fc.array(tagValue, { maxLength: 4 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }),
        password: fc.oneof(fc.string({ minLength: 8, maxLength: 24 }), shortString, fc.integer()),
        contacts: fc.oneof({ weight: 4, arbitrary: fc.array(contact, { maxLength: 3 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }),
        is_primary: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 0 })),
        id: fc.uuid(),
        enabled: fc.boolean(),
        created_at: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      },
      { requiredKeys: [] },
    ),
    fc.option(fc.dictionary(attributeName, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }), { freq: 4, nil: undefined }),
  )
  .map(([known, unknown]) => ({ ...(unknown ?? {}), ...known }) as Record<string, unknown>);

// Mostly valid bodies, so that many writes apply: storable attributes with an identifier, valid system fields, real contacts.
const validProfileBody = fc
  .record(
    {
      attributes: validItem.map(({ attributes: { ts: _ts, ...rest } }) => rest),
      status: fc.constantFrom('active', 'closed', 'suspended'),
      tags: fc.array(fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/), { maxLength: 3 }),
      password: fc.string({ minLength: 8, maxLength: 20 }).filter((p) => !p.includes('\u0000')),
    },
    { requiredKeys: ['attributes'] },
  )
  .map((b) => b as Record<string, unknown>);
const validContact = fc.oneof(fc.emailAddress().map((value) => ({ key: 'email', value })), fc.uuid().map((value) => ({ key: 'vuid', value })));

describe('given random bodies written to the /api/v1 profile routes', () => {
  let profileId: string;
  const customer = `fuzz-${process.pid}`;
  const call = (method: string, path: string, payload: Buffer, type = 'application/json') =>
    rawRequest(server.url, { method, path, headers: { 'content-type': type, 'content-length': payload.length, authorization: `Bearer ${server.privateKey}` }, body: payload });

  beforeAll(async () => {
    const created = await call('POST', '/api/v1/profiles', Buffer.from(JSON.stringify({ attributes: { email: `fuzz.writes.${process.pid}@example.com` } })));
    expect(created.status).toBe(201);
    profileId = created.json.id;
  });

  it(`then over ${WRITE_RUNS} runs: no 5xx, and the answer is the body parser's verdict (201/200/409 when valid, 422 naming the same fields when not)`, async () => {
    const statuses: Record<string, number> = {};
    const route = fc.constantFrom(
      { method: 'POST', path: () => '/api/v1/profiles', options: { mode: 'create', route: 'profiles' } as const, contact: false },
      { method: 'PATCH', path: () => `/api/v1/profiles/${profileId}`, options: { mode: 'patch', route: 'profiles' } as const, contact: false },
      { method: 'POST', path: () => `/api/v1/customers/${customer}/profiles`, options: { mode: 'create', route: 'customers' } as const, contact: false },
      { method: 'POST', path: () => `/api/v1/profiles/${profileId}/contacts`, options: undefined, contact: true },
    );
    const payloadOf = fc.oneof(
      { weight: 4, arbitrary: fc.oneof(validProfileBody, validContact).map((v) => ({ kind: 'json' as const, value: v as unknown })) },
      { weight: 6, arbitrary: fc.oneof(profileBody, contact).map((v) => ({ kind: 'json' as const, value: v as unknown })) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'json' as const, value })) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 48 }).map((value) => ({ kind: 'bytes' as const, value })) },
    );

    await fc.assert(
      fc.asyncProperty(route, payloadOf, async (r, b) => {
        const payload = b.kind === 'json' ? Buffer.from(JSON.stringify(b.value) ?? 'null') : Buffer.from(b.value);
        const answer = await call(r.method, r.path(), payload);
        statuses[String(answer.status ?? answer.error)] = (statuses[String(answer.status ?? answer.error)] ?? 0) + 1;
        expect(answer.error).toBeUndefined();
        expect(answer.status).toBeLessThan(500);
        expect([200, 201, 400, 409, 422, 429]).toContain(answer.status);
        expect(answer.headers['content-type']).toMatch(answer.status! >= 400 ? /^application\/problem\+json/ : /^application\/json/);
        if (b.kind !== 'json' || answer.status === 429) return;
        const document = JSON.parse(payload.toString('utf8'));
        const verdict = r.contact ? parseContactBody(document, rules, 'post') : parseProfileBody(document, writeRules, { ...r.options!, profileId });
        if (verdict.ok) expect({ valid: true, status: [200, 201, 409].includes(answer.status!) ? 'written or 409' : answer.status }).toEqual({ valid: true, status: 'written or 409' });
        else {
          expect({ valid: false, status: answer.status }).toEqual({ valid: false, status: 422 });
          expect(answer.json.errors).toEqual(verdict.errors);
        }
      }),
      { numRuns: WRITE_RUNS },
    );
    expect(isAlive(server.process.pid)).toBe(true);
    expect(statuses['422']).toBeGreaterThan(0);
    expect((statuses['201'] ?? 0) + (statuses['200'] ?? 0)).toBeGreaterThan(0);
  }, 180_000);
});
