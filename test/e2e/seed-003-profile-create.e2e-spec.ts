// Seed 003 ("Create a profile", ../shared/seeds/003_*) mapped to /api/v1 (DESIGN §12), over HTTP
// against the single-node server. The seed's one operation is POST of a profile with a write-only
// password (8–128 characters) and a status; its answers are 201 with the resource, 400 invalid input,
// 401 unauthorized and 422 unprocessable entity (problem+json `{type,title,detail,instance}`).
//
// Field mapping (seed 003 → /api/v1, snake_case already):
//   login (5–128 characters)               → attributes.username (the profile's unique login: an identifier, taken → 409)
//   password (8–128 characters, or null)   → password (write-only; `has_password` in the answer)
//   status "E" (enabled) | "D" (disabled)  → status "active" | "suspended" (`enabled` in the answer)
//   language, referer, status_comment, ga_client_id, social_login_provider, social_login_id,
//   concierge_user_id, stripe_customer_id, access_level, membership_id, pending_membership_id,
//   force_change_password, stored_selectors, mail_chimp_lists|interests|segments, role_ids
//                                          → attributes of the same names
//   answer: id → id, login → attributes.username, create_date → created_at, status → status/enabled
import { SingleNode, startSingleNode } from '../support/single-node-server';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const tag = `s3${process.pid}`;

let server: SingleNode;

async function post(body: unknown, headers: Record<string, string> = { authorization: `Bearer ${server?.privateKey}` }) {
  const r = await fetch(`${server.url}/api/v1/profiles`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, contentType: r.headers.get('content-type') ?? '', location: r.headers.get('location'), text, body: text ? JSON.parse(text) : undefined };
}

/** The seed's request body, translated field by field (see the mapping above). */
function seedProfile(login: string, overrides: Record<string, unknown> = {}) {
  return {
    attributes: {
      username: login,
      social_login_provider: null,
      social_login_id: null,
      ga_client_id: 'GA1.2.123.456',
      stored_selectors: ['#cart', '.promo'],
      concierge_user_id: null,
      mail_chimp_lists: [1, 2],
      mail_chimp_interests: [3],
      mail_chimp_segments: [],
      stripe_customer_id: 'cus_123',
      access_level: 100,
      status_comment: 'created by the seed test',
      referer: 'https://example.com/',
      language: 'en',
      membership_id: 7,
      pending_membership_id: null,
      force_change_password: false,
      role_ids: [1, 5],
    },
    password: 'correct horse battery',
    status: 'active', // "E"
    ...overrides,
  };
}

beforeAll(async () => {
  server = await startSingleNode();
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  server.cleanup();
});

describe('seed 003: create a profile', () => {
  it('when the seed body is posted, then 201 with the profile resource: id, login, creation date, status; the password is write-only', async () => {
    const r = await post(seedProfile(`mary.${tag}`));
    expect(r.status).toBe(201);
    expect(r.location).toBe(`/api/v1/profiles/${r.body.id}`);
    expect(r.body).toMatchObject({
      id: expect.any(String),
      status: 'active',
      enabled: true,
      has_password: true,
      created_at: expect.stringMatching(ISO),
      attributes: { username: `mary.${tag}`, language: 'en', role_ids: [1, 5], stored_selectors: ['#cart', '.promo'], access_level: 100, force_change_password: false },
    });
    expect(r.text).not.toContain('correct horse battery');
  });

  it('when status is "D" (disabled → suspended) and the password is null-like absent, then 201, not enabled, no password', async () => {
    const { password: _none, ...body } = seedProfile(`disabled.${tag}`, { status: 'suspended' });
    const r = await post(body);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ status: 'suspended', enabled: false, has_password: false });
  });

  it.each([
    ['7 characters', 'x'.repeat(7)],
    ['129 characters', 'x'.repeat(129)],
    ['a number', 12345678],
  ])('when the password is %s, then 422 naming `password`', async (_what, password) => {
    const r = await post(seedProfile(`short.${tag}`, { password }));
    expect(r.status).toBe(422);
    expect(r.contentType).toMatch(/^application\/problem\+json/);
    expect(r.body.errors).toEqual([{ field: 'password', message: expect.stringContaining('8–128') }]);
  });

  it('when the password is exactly 8 or 128 characters, then 201', async () => {
    expect((await post(seedProfile(`eight.${tag}`, { password: 'p'.repeat(8) }))).status).toBe(201);
    expect((await post(seedProfile(`long.${tag}`, { password: 'p'.repeat(128) }))).status).toBe(201);
  });

  it('when status is not one of active/closed/suspended (the seed\'s "E"), then 422 naming `status`', async () => {
    const r = await post(seedProfile(`status.${tag}`, { status: 'E' }));
    expect(r.status).toBe(422);
    expect(r.body.errors.map((e: { field: string }) => e.field)).toEqual(['status']);
  });

  it('when the login is taken, then 409 naming the owner', async () => {
    const first = await post(seedProfile(`taken.${tag}`));
    const second = await post(seedProfile(`taken.${tag}`));
    expect(second.status).toBe(409);
    expect(second.body.detail).toContain(first.body.id);
  });

  it('when the input is malformed JSON, then 400; without credentials, 401 — both problem+json', async () => {
    const bad = await post('{"attributes": ');
    expect({ status: bad.status, type: bad.contentType }).toEqual({ status: 400, type: expect.stringMatching(/^application\/problem\+json/) });
    const anonymous = await post(seedProfile(`anon.${tag}`), {});
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toEqual({ type: expect.any(String), title: 'Unauthorized', status: 401, detail: expect.any(String), instance: '/api/v1/profiles' });
  });
});
