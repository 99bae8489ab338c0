// GET /api/v1/profiles/{id}/events (DESIGN §10, §12): the read path over profile_events, written here
// directly (the projector fills it in production): merges, paging, tenant isolation, problem+json errors.
import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import type { HttpEnv } from '@tessera/config';
import { ApiKeyGuard, createHttpApp, LOGGER, TenantRateLimiter, TesseraLogger } from '@tessera/runtime';
import { createDataSource, runMigrationsLocked, TenantRepository } from '@tessera/store';
import { createTestDatabase, TestDatabase } from '@tessera/testing/database';
import { ProfileApiModule } from '../profile-api.module';

let db: TestDatabase;
let dataSource: DataSource;
let app: NestFastifyApplication;
const keys: Record<string, string> = {};

// Profiles: `survivor` absorbed `loser` (merged_into flat); `other` is unrelated; `foreign` is another tenant's.
const P = {
  survivor: '0190a000-0000-7000-8000-000000000001',
  loser: '0190a000-0000-7000-8000-000000000002',
  other: '0190a000-0000-7000-8000-000000000003',
  foreign: '0190a000-0000-7000-8000-000000000004',
  empty: '0190a000-0000-7000-8000-000000000005',
};

const logger = { error: () => undefined, warn: () => undefined, info: () => undefined } as unknown as TesseraLogger;

async function profile(tenant: string, id: string, mergedInto: string | null = null) {
  await dataSource.query(
    `INSERT INTO profiles (tenant, id, created_at, created_record_id, updated_at, merged_into) VALUES ($1, $2, now(), $2, now(), $3)`,
    [tenant, id, mergedInto],
  );
}

async function event(tenant: string, profileId: string, id: string, ts: string, extra: { type?: string; action?: string | null; identifiers?: object; data?: object } = {}) {
  await dataSource.query(
    `INSERT INTO profile_events (tenant, id, profile_id, type, action, ts, identifiers, data) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb)`,
    [tenant, id, profileId, extra.type ?? 'pageview', extra.action === undefined ? 'view' : extra.action, ts, JSON.stringify(extra.identifiers ?? { email: 'a@example.com' }), JSON.stringify(extra.data ?? {})],
  );
}

beforeAll(async () => {
  db = await createTestDatabase('events_api');
  dataSource = createDataSource(db.url, 4);
  await dataSource.initialize();
  await runMigrationsLocked(dataSource);
  const tenants = new TenantRepository(dataSource);
  await tenants.ensureTenant('acme');
  await tenants.ensureTenant('globex');
  keys.read = await tenants.createApiKey('acme', 'read');
  keys.private = await tenants.createApiKey('acme', 'private');
  keys.public = await tenants.createApiKey('acme', 'public');
  keys.globex = await tenants.createApiKey('globex', 'private');

  await profile('acme', P.survivor);
  await profile('acme', P.loser, P.survivor);
  await profile('acme', P.other);
  await profile('acme', P.empty);
  await profile('globex', P.foreign);
  // Newest first across both profiles of the person; two events share a ts (ordered by id), one has microseconds.
  await event('acme', P.survivor, 'e-01', '2026-01-01T00:00:01.000Z', { type: 'order', action: 'purchase', identifiers: { email: 'ann@example.com' }, data: { total: 12.5, sku: 'A-1', gift: false, note: null } });
  await event('acme', P.loser, 'e-02', '2026-01-01T00:00:02.000Z', { identifiers: { vuid: 'v-1' } });
  await event('acme', P.survivor, 'e-03', '2026-01-01T00:00:03.000Z', { action: null });
  await event('acme', P.loser, 'e-04', '2026-01-01T00:00:03.000Z');
  await event('acme', P.survivor, 'e-05', '2026-01-01T00:00:03.000001Z');
  await event('acme', P.survivor, 'e-06', '2026-01-01T00:00:04.000Z');
  await event('acme', P.other, 'x-01', '2026-01-01T00:00:05.000Z');
  await event('globex', P.foreign, 'g-01', '2026-01-01T00:00:05.000Z');

  @Global()
  @Module({
    providers: [
      { provide: DataSource, useValue: dataSource },
      { provide: TenantRepository, useValue: tenants },
      { provide: TenantRateLimiter, useValue: new TenantRateLimiter(tenants, { itemsPerSecond: 10_000, burst: 10_000 }) },
      { provide: LOGGER, useValue: logger },
      { provide: APP_GUARD, useClass: ApiKeyGuard },
    ],
    exports: [DataSource, TenantRepository, TenantRateLimiter, LOGGER],
  })
  class TestCoreModule {}

  @Module({ imports: [TestCoreModule, ProfileApiModule] })
  class TestAppModule {}

  app = await createHttpApp(TestAppModule, { TESSERA_BODY_LIMIT: 1024 * 1024 } as HttpEnv, logger);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
});

afterAll(async () => {
  await app?.close();
  await dataSource?.destroy();
  await db?.drop();
});

async function get(url: string, key: string | null = keys.read, bearer = false) {
  const r = await app.inject({ method: 'GET', url, headers: key ? (bearer ? { authorization: `Bearer ${key}` } : { 'x-api-key': key }) : {} });
  return { status: r.statusCode, contentType: String(r.headers['content-type']), body: r.json() as any };
}

const ids = (body: { events: Array<{ id: string }> }) => body.events.map((e) => e.id);

describe('given a person whose profile absorbed another', () => {
  it('when its events are read, then they are the events of both profiles, newest first (ts, then id), in the exact shape', async () => {
    const r = await get(`/api/v1/profiles/${P.survivor}/events`);
    expect(r.status).toBe(200);
    expect(r.contentType).toMatch(/^application\/json/);
    expect(Object.keys(r.body).sort()).toEqual(['events', 'next']);
    expect(ids(r.body)).toEqual(['e-06', 'e-05', 'e-04', 'e-03', 'e-02', 'e-01']);
    expect(r.body.next).toBeNull();
    expect(r.body.events[5]).toEqual({
      id: 'e-01',
      type: 'order',
      action: 'purchase',
      ts: '2026-01-01T00:00:01.000Z',
      identifiers: { email: 'ann@example.com' },
      data: { total: 12.5, sku: 'A-1', gift: false, note: null },
    });
    expect(r.body.events[3]).toMatchObject({ id: 'e-03', action: null });
  });

  it('when the merged-away id is asked, then it answers for the survivor', async () => {
    const r = await get(`/api/v1/profiles/${P.loser}/events`);
    expect(r.status).toBe(200);
    expect(ids(r.body)).toEqual(['e-06', 'e-05', 'e-04', 'e-03', 'e-02', 'e-01']);
  });

  it('when the id is in upper case, then it is the same profile (UUIDs are case-insensitive)', async () => {
    expect(ids((await get(`/api/v1/profiles/${P.survivor.toUpperCase()}/events`)).body)).toHaveLength(6);
  });

  it('when another profile is read, then it has only its own events; a profile without events answers an empty page', async () => {
    expect(ids((await get(`/api/v1/profiles/${P.other}/events`)).body)).toEqual(['x-01']);
    expect((await get(`/api/v1/profiles/${P.empty}/events`)).body).toEqual({ events: [], next: null });
  });
});

describe('given pages', () => {
  it.each([1, 2, 4, 5])('when walking with limit=%i, then the pages hold every event once, in order, and the last next is null', async (limit) => {
    const seen: string[] = [];
    let url = `/api/v1/profiles/${P.survivor}/events?limit=${limit}`;
    for (let page = 0; page < 10; page++) {
      const r = await get(url);
      expect(r.status).toBe(200);
      expect(r.body.events.length).toBeLessThanOrEqual(limit);
      seen.push(...ids(r.body));
      if (r.body.next === null) break;
      expect(typeof r.body.next).toBe('string');
      url = `/api/v1/profiles/${P.survivor}/events?limit=${limit}&cursor=${encodeURIComponent(r.body.next)}`;
    }
    expect(seen).toEqual(['e-06', 'e-05', 'e-04', 'e-03', 'e-02', 'e-01']);
  });

  it('when the limit is left out, then 60 events make a page', async () => {
    for (let i = 0; i < 61; i++) await event('acme', P.empty, `m-${String(i).padStart(3, '0')}`, new Date(Date.UTC(2026, 1, 1, 0, 0, i)).toISOString());
    const first = await get(`/api/v1/profiles/${P.empty}/events`);
    expect(first.body.events).toHaveLength(60);
    expect(first.body.events[0].id).toBe('m-060');
    const second = await get(`/api/v1/profiles/${P.empty}/events?cursor=${first.body.next}`);
    expect(second.body).toEqual({ events: [expect.objectContaining({ id: 'm-000' })], next: null });
    await dataSource.query(`DELETE FROM profile_events WHERE profile_id = $1`, [P.empty]);
  });

  it('when an event arrives between pages, then the walk goes on where it was (keyset), without repeating', async () => {
    const first = await get(`/api/v1/profiles/${P.survivor}/events?limit=3`);
    await event('acme', P.survivor, 'e-07', '2026-01-01T00:00:09.000Z');
    const second = await get(`/api/v1/profiles/${P.survivor}/events?limit=3&cursor=${first.body.next}`);
    expect([...ids(first.body), ...ids(second.body)]).toEqual(['e-06', 'e-05', 'e-04', 'e-03', 'e-02', 'e-01']);
    await dataSource.query(`DELETE FROM profile_events WHERE id = 'e-07'`);
  });
});

describe('given bad query parameters', () => {
  it.each([
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=1.5', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['cursor=', 'cursor'],
    ['cursor=not-a-cursor!', 'cursor'],
    ['cursor=eyJmb28iOjF9', 'cursor'], // {"foo":1}
    ['page=2', 'page'],
    ['offset=10', 'offset'],
  ])('when ?%s, then 400 problem+json naming `%s`', async (query, parameter) => {
    const r = await get(`/api/v1/profiles/${P.survivor}/events?${query}`);
    expect(r.status).toBe(400);
    expect(r.contentType).toMatch(/^application\/problem\+json/);
    expect(r.body).toEqual({ type: expect.any(String), title: 'Bad Request', status: 400, detail: expect.stringContaining(`\`${parameter}\``), instance: `/api/v1/profiles/${P.survivor}/events` });
  });

  it("when a cursor made for another profile is sent, then 400 naming `cursor`", async () => {
    const first = await get(`/api/v1/profiles/${P.survivor}/events?limit=1`);
    const r = await get(`/api/v1/profiles/${P.other}/events?cursor=${first.body.next}`);
    expect(r.status).toBe(400);
    expect(r.body.detail).toContain('`cursor`');
  });
});

describe('given ids that name no profile of the tenant', () => {
  it.each([
    ['an unknown id', '0190a000-0000-7000-8000-0000000000ff'],
    ['not a UUID', 'nobody'],
    ["another tenant's profile", P.foreign],
  ])('when %s is asked, then 404 problem+json', async (_what, id) => {
    const r = await get(`/api/v1/profiles/${id}/events`);
    expect(r.status).toBe(404);
    expect(r.contentType).toMatch(/^application\/problem\+json/);
    expect(r.body).toEqual({ type: expect.any(String), title: 'Not Found', status: 404, detail: expect.any(String), instance: `/api/v1/profiles/${id}/events` });
  });

  it("when the other tenant reads its own profile, then it sees only its own events", async () => {
    expect(ids((await get(`/api/v1/profiles/${P.foreign}/events`, keys.globex)).body)).toEqual(['g-01']);
    expect((await get(`/api/v1/profiles/${P.survivor}/events`, keys.globex)).status).toBe(404);
  });
});

describe('given credentials', () => {
  it.each([
    ['a read key (Bearer)', 200, 'read', true],
    ['a private key', 200, 'private', false],
    ['a public key', 403, 'public', false],
    ['no key', 401, undefined, false],
    ['an unknown key', 401, 'unknown', false],
  ] as const)('when %s is presented, then the answer is %i', async (_what, status, kind, bearer) => {
    const key = kind === undefined ? null : kind === 'unknown' ? 'trk_unknown' : keys[kind];
    const r = await get(`/api/v1/profiles/${P.survivor}/events`, key, bearer);
    expect(r.status).toBe(status);
    if (status !== 200) expect(r.contentType).toMatch(/^application\/problem\+json/);
  });
});
