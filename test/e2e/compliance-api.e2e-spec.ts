// DESIGN §11 over HTTP as a client sees it: deletion requests (gdpr, ccpa, lgpd) and their status.
import { tesseraCli } from '../support/faults/cli';
import { eventually, ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

let server: SingleNode;
let api: ProfilesClient;
let n = 0;
const email = (tag: string) => `${tag}.${process.pid}.${++n}@example.com`;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function call(method: 'GET' | 'POST', path: string, body?: unknown, key: string | null = server.privateKey) {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(key ? { 'x-api-key': key } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, body: json };
}

const erase = (regulation: string, body: unknown, key?: string | null) => call('POST', `/v3/compliance/${regulation}/delete`, body, key);
const status = (regulation: string, id: string, key?: string | null) => call('GET', `/v3/compliance/${regulation}/status/${id}`, undefined, key);

beforeAll(async () => {
  server = await startSingleNode();
  api = new ProfilesClient(server.url, server.publicKey, server.privateKey);
});

afterAll(async () => {
  await server?.stop();
  server?.cleanup();
});

describe('POST /v3/compliance/{regulation}/delete', () => {
  it.each(['gdpr', 'ccpa', 'lgpd'])('when %s deletion is requested, then 202 with one request id per item and the status is readable at once', async (regulation) => {
    const ann = email('ann');
    const r = await erase(regulation, [
      { requester: 'dpo@tenant.example', identifier_field_name: 'email', identifier_value: ann.toUpperCase() },
      { requester: 'dpo@tenant.example', identifier_field_name: 'vuid', identifier_value: `device-${n}` },
    ]);
    expect(r.status).toBe(202);
    expect(Object.keys(r.body)).toEqual(['request_ids']);
    expect(r.body.request_ids).toHaveLength(2);
    for (const id of r.body.request_ids) {
      expect(id).toMatch(UUID);
      const s = await status(regulation, id);
      expect(s.status).toBe(200);
      expect(s.headers.get('content-type')).toMatch(/^application\/json/);
      expect(['"IN_PROGRESS"', '"COMPLETED"']).toContain(s.text);
    }
  });

  it('given a single request object, then it is one item', async () => {
    const r = await erase('gdpr', { requester: 'dpo', identifier_field_name: 'phone', identifier_value: '555-867-5309' });
    expect(r.status).toBe(202);
    expect(r.body.request_ids).toHaveLength(1);
  });

  it('given invalid items, then 400 lists each with its index and field', async () => {
    const r = await erase('gdpr', [
      { requester: 'dpo', identifier_field_name: 'email', identifier_value: email('ok') },
      { identifier_field_name: 'email', identifier_value: email('x') },
      { requester: 'dpo', identifier_field_name: 'shoe_size', identifier_value: '42' },
      { requester: 'dpo', identifier_field_name: 'email', identifier_value: 'not-an-email' },
      { requester: 'dpo', identifier_field_name: 'vuid', identifier_value: 'anonymous' },
      { requester: 'dpo', identifier_field_name: 'email' },
    ]);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ title: 'Bad Request', status: 400, timestamp: expect.stringMatching(ISO) });
    const invalids: Array<{ event: number; message: string }> = r.body.detail.invalids;
    expect(invalids.map((i) => i.event)).toEqual([1, 2, 3, 4, 5]);
    expect(invalids[0].message).toContain('`requester`');
    expect(invalids[1].message).toContain('`identifier_field_name`');
    expect(invalids[2].message).toContain('`identifier_value`');
    expect(invalids[3].message).toContain('`identifier_value`');
    expect(invalids[4].message).toContain('`identifier_value` is required');
  });

  it.each([
    ['an empty array', []],
    ['a string', '"gdpr"'],
    ['101 items', Array.from({ length: 101 }, () => ({ requester: 'dpo', identifier_field_name: 'vuid', identifier_value: 'v-1' }))],
    ['malformed JSON', '[{'],
  ])('given %s, then 400 with detail.message', async (_name, body) => {
    const r = await erase('gdpr', body);
    expect(r.status).toBe(400);
    expect(typeof r.body.detail.message).toBe('string');
  });

  it.each([
    ['a number as requester', { requester: 7, identifier_field_name: 'email', identifier_value: 'a@b.co' }, '`requester`'],
    ['an over-long requester', { requester: 'r'.repeat(256), identifier_field_name: 'email', identifier_value: 'a@b.co' }, '`requester`'],
    ['an object as value', { requester: 'dpo', identifier_field_name: 'email', identifier_value: { $ne: null } }, '`identifier_value`'],
    ['a NUL in the value', { requester: 'dpo', identifier_field_name: 'vuid', identifier_value: 'a\u0000b' }, '`identifier_value`'],
    ['an array as type', { requester: 'dpo', identifier_field_name: ['email'], identifier_value: 'a@b.co' }, '`identifier_field_name`'],
    ['__proto__ as type', { requester: 'dpo', identifier_field_name: '__proto__', identifier_value: 'x' }, '`identifier_field_name`'],
    ['a zaius_id that is not a UUID', { requester: 'dpo', identifier_field_name: 'zaius_id', identifier_value: 'p-1' }, '`identifier_value`'],
  ])('given %s, then 400 naming the field of item 0', async (_name, item, field) => {
    const r = await erase('gdpr', [item]);
    expect(r.status).toBe(400);
    expect(r.body.detail.invalids).toEqual([{ event: 0, message: expect.stringContaining(field) }]);
  });

  it('given random bodies, then never a 5xx', async () => {
    const atoms: unknown[] = [null, true, 0, -1, 1e308, '', 'x', 'email', 'zaius_id', '+1 555', [], {}, 'ann@example.com', '\u0000', '__proto__'];
    const pick = (i: number) => atoms[(i * 7919 + 13) % atoms.length];
    for (let i = 0; i < 60; i++) {
      const item: Record<string, unknown> = { requester: pick(i), identifier_field_name: pick(i + 3), identifier_value: pick(i + 5) };
      if (i % 4 === 0) delete item[Object.keys(item)[i % 3]];
      const body = i % 5 === 0 ? pick(i) : i % 3 === 0 ? item : [item, pick(i + 1)];
      const r = await erase('gdpr', body);
      expect([202, 400]).toContain(r.status);
    }
  });

  it('given a body that is not JSON, then 415', async () => {
    const r = await fetch(`${server.url}/v3/compliance/gdpr/delete`, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-api-key': server.privateKey }, body: 'x' });
    expect(r.status).toBe(415);
  });

  it('given a public key or no key, then 403', async () => {
    const body = [{ requester: 'dpo', identifier_field_name: 'email', identifier_value: email('pub') }];
    expect(await erase('gdpr', body, server.publicKey)).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
    expect(await erase('gdpr', body, null)).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
  });

  it('given a regulation that does not exist, then 404', async () => {
    const r = await erase('hipaa', [{ requester: 'dpo', identifier_field_name: 'email', identifier_value: email('h') }]);
    expect(r.status).toBe(404);
  });
});

describe('GET /v3/compliance/{regulation}/status/{request_id}', () => {
  it('given an unknown id, then 404 in the Zaius shape', async () => {
    const r = await status('gdpr', '0190c0de-0000-7000-8000-000000000000');
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ title: 'Not Found', status: 404, timestamp: expect.stringMatching(ISO), detail: { message: expect.any(String) } });
  });

  it('given an id that is too long, then 404', async () => {
    expect((await status('ccpa', 'x'.repeat(90))).status).toBe(404);
  });

  it('given a public key, then 403', async () => {
    const [id] = (await erase('gdpr', [{ requester: 'dpo', identifier_field_name: 'vuid', identifier_value: `v-${process.pid}` }])).body.request_ids;
    expect(await status('gdpr', id, server.publicKey)).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
  });

  it("given another tenant's request id, then 404", async () => {
    const tenant = `comp${process.pid}`;
    expect((await tesseraCli(server.dataDir, 'tenants', 'create', tenant)).code).toBe(0);
    const otherKey = (await tesseraCli(server.dataDir, 'keys', 'create', '--tenant', tenant, '--kind', 'private')).stdout.trim();
    const [id] = (await erase('gdpr', [{ requester: 'dpo', identifier_field_name: 'email', identifier_value: email('other') }], otherKey)).body.request_ids;
    expect((await status('gdpr', id, otherKey)).status).toBe(200);
    expect((await status('gdpr', id)).status).toBe(404);
  });
});

describe('erasure applied by the worker', () => {
  const lookup = (type: string, value: string) => api.get(`${type}=${encodeURIComponent(value)}`);
  const gone = (type: string, value: string) =>
    eventually(async () => ((await lookup(type, value)).status === 404 ? true : undefined), 20_000);

  it('given a person merged from two profiles, when erased by one identifier, then every look-up answers 404, by old zaius_ids too', async () => {
    const person = { email: email('erased'), work: email('erased-work'), phone: `+1 617 555 ${String(1000 + (process.pid % 9000)).slice(-4)}`, vuid: `dev-${process.pid}-${n}` };
    expect((await api.post({ attributes: { email: person.email, vuid: person.vuid, first_name: 'Erin' } })).status).toBe(202);
    expect((await api.post({ attributes: { email: person.work, phone: person.phone, last_name: 'Erased' } })).status).toBe(202);
    const first = await api.until(`email=${encodeURIComponent(person.email)}`);
    const second = await api.until(`email=${encodeURIComponent(person.work)}`);
    expect((await api.post({ attributes: { email: person.email, phone: person.phone } })).status).toBe(202);
    await api.until(`email=${encodeURIComponent(person.work)}`, (p) => p.attributes.first_name === 'Erin');

    const r = await erase('gdpr', [{ requester: 'dpo@tenant.example', identifier_field_name: 'phone', identifier_value: person.phone }]);
    expect(r.status).toBe(202);
    await gone('email', person.email);
    for (const [type, value] of [['email', person.work], ['phone', person.phone], ['vuid', person.vuid], ['zaius_id', first.attributes.zaius_id], ['zaius_id', second.attributes.zaius_id]]) {
      expect((await lookup(type, value)).status).toBe(404);
    }
  });

  it('given an erased person, when records arrive after the erasure, then they start a new profile with nothing of the old one', async () => {
    const address = email('returning');
    expect((await api.post({ attributes: { email: address, first_name: 'Old', loyalty: 'gold' } })).status).toBe(202);
    const before = await api.until(`email=${encodeURIComponent(address)}`);
    expect((await erase('ccpa', { requester: 'dpo', identifier_field_name: 'email', identifier_value: address })).status).toBe(202);
    await gone('email', address);
    expect((await api.post({ attributes: { email: address, first_name: 'New' } })).status).toBe(202);
    const after = await api.until(`email=${encodeURIComponent(address)}`);
    expect(after.attributes.zaius_id).not.toBe(before.attributes.zaius_id);
    expect(after.attributes.first_name).toBe('New');
    expect(after.attributes.loyalty).toBeUndefined();
  });
});
