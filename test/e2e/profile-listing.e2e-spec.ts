// GET /api/v1/profiles (DESIGN §12, seeds 002 and 004) over HTTP against the single-node server:
// the three paging styles, both sorting styles, filter[…] and q= (prefix, comparisons), total and
// X-Total-Count, a cursor walk that neither repeats nor skips while /v3 upserts continue, and a 400
// naming each bad parameter.
import { Client } from 'pg';
import { embeddedPostgresUrl } from '@tessera/store';
import { tesseraCli } from '../support/faults/cli';
import { eventually, ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const run = `ls${process.pid}`;
const PEOPLE = 12;
const FIRST = ['Alice', 'Alfred', 'Bob', 'Carla', 'Dmitri', 'Eve', 'Farah', 'Gus', 'Hana', 'Ivo', 'Jun', 'Kai'];
const CITIES = ['Boston', 'Berlin', 'Tokyo'];

let server: SingleNode;
let client: ProfilesClient;
let db: Client;
let readKey: string;
/** zaius_id per person index. */
const ids: string[] = [];

interface Answer {
  status: number;
  contentType: string;
  headers: Headers;
  body: any;
}

async function get(path: string, key: string = readKey): Promise<Answer> {
  const r = await fetch(`${server.url}${path}`, { headers: { 'x-api-key': key } });
  return { status: r.status, contentType: r.headers.get('content-type') ?? '', headers: r.headers, body: await r.json().catch(() => undefined) };
}

/** A listing of this run's people (`filter[run]`) plus `query`: 200 and X-Total-Count = total, or fails. */
async function list(query = ''): Promise<any> {
  const r = await get(`/api/v1/profiles?filter[run]=${run}${query ? `&${query}` : ''}`);
  expect({ status: r.status, body: r.status === 200 ? 'ok' : r.body }).toEqual({ status: 200, body: 'ok' });
  expect(r.headers.get('x-total-count')).toBe(String(r.body.total));
  return r.body;
}

const idsOf = (body: any): string[] => body.profiles.map((p: any) => p.id);
const person = (i: number) => ({
  email: `p${i}.${run}@example.com`,
  first_name: FIRST[i],
  city: CITIES[i % 3],
  orders: i,
  joined_at: `2026-01-${String(i + 1).padStart(2, '0')}T00:00:00.000Z`,
  run,
});

beforeAll(async () => {
  server = await startSingleNode();
  client = new ProfilesClient(server.url, server.publicKey, server.privateKey);
  const key = await tesseraCli(server.dataDir, 'keys', 'create', '--tenant', 'default', '--kind', 'read');
  expect(key.code).toBe(0);
  readKey = key.stdout.trim();
  db = new Client({ connectionString: embeddedPostgresUrl(server.dataDir, 'tessera') });
  await db.connect();
  // One upsert each, in order: created_at follows the person's index.
  for (let i = 0; i < PEOPLE; i++) {
    expect((await client.post({ attributes: person(i) })).status).toBe(202);
    ids.push((await client.until(`email=p${i}.${run}%40example.com`, undefined, 60_000)).attributes.zaius_id);
  }
  // Status and tags set straight in the projection: the read side is under test here.
  await db.query(`UPDATE profiles SET attributes = attributes || '{"$status":"closed","$tags":["vip","gold"]}' WHERE tenant = 'default' AND id = $1`, [ids[4]]);
  await db.query(`UPDATE profiles SET attributes = attributes || '{"$tags":["vip"]}' WHERE tenant = 'default' AND id = $1`, [ids[7]]);
}, 300_000);

afterAll(async () => {
  await db?.end();
  expect(await server.stop()).toBe(0);
  server.cleanup();
});

describe('paging', () => {
  it('when listed with no paging, then every match answers in created_at order with total, limit 60, offset 0, next null', async () => {
    const body = await list();
    expect(body).toEqual({ profiles: expect.any(Array), total: PEOPLE, limit: 60, offset: 0, next: null });
    expect(idsOf(body)).toEqual(ids);
    const created = body.profiles.map((p: any) => p.created_at);
    expect([...created].sort()).toEqual(created);
  });

  it('when listed by limit+offset and by pageNumber+pageSize, then the same page answers, with a next cursor', async () => {
    const byOffset = await list('limit=5&offset=5');
    expect(idsOf(byOffset)).toEqual(ids.slice(5, 10));
    expect(byOffset).toMatchObject({ total: PEOPLE, limit: 5, offset: 5, next: expect.any(String) });
    const byPage = await list('pageNumber=2&pageSize=5');
    expect(byPage).toEqual(byOffset);
    const last = await list('pageNumber=3&pageSize=5');
    expect(idsOf(last)).toEqual(ids.slice(10));
    expect(last).toMatchObject({ offset: 10, next: null });
    const beyond = await list('offset=100');
    expect(beyond).toEqual({ profiles: [], total: PEOPLE, limit: 60, offset: 100, next: null });
  });

  it('when a cursor walk runs while /v3 upserts change other attributes and add people, then it neither repeats nor skips anyone', async () => {
    const seen: string[] = [];
    let page = await list('sort=orders:desc&limit=4');
    const offsets: number[] = [];
    for (let n = 0; ; n++) {
      seen.push(...idsOf(page));
      offsets.push(page.offset);
      if (!page.next) break;
      // Between pages: people already listed and people not yet listed change (not their orders), and a new
      // one arrives ahead of the walk's position (an offset walk would now repeat a profile).
      const changes = [n, PEOPLE - 1 - n].map((i) => ({ attributes: { email: `p${i}.${run}@example.com`, city: `Moved${n}` } }));
      expect((await client.post([...changes, { attributes: { ...person(0), email: `new${n}.${run}@example.com`, orders: 100 + n } }])).status).toBe(202);
      await client.until(`email=new${n}.${run}%40example.com`, undefined, 60_000);
      page = await list(`sort=orders:desc&limit=4&cursor=${page.next}`);
    }
    expect(offsets.slice(0, 3)).toEqual([0, 4, 8]);
    expect(new Set(seen).size).toBe(seen.length);
    // The original people in their order (orders = index); the newcomers sort before where the walk was.
    expect(seen).toEqual([...ids].reverse());
    const total = (await list()).total;
    expect(total).toBeGreaterThan(PEOPLE);
    await db.query(`UPDATE profiles SET attributes = attributes - 'run' WHERE tenant = 'default' AND attributes->>'email' LIKE 'new%'`);
    for (let i = 0; i < PEOPLE; i++) await client.post({ attributes: { email: `p${i}.${run}@example.com`, city: CITIES[i % 3] } });
    // Every person back in their city (not only Boston's: later tests sort and filter by city).
    await eventually(async () => {
      for (const city of CITIES) if ((await list(`filter[city]=${city}`)).total !== 4) return undefined;
      return true;
    }, 60_000);
  }, 300_000);

  it('when a cursor is sent with another limit, sort or filter, or is not a cursor, then 400 naming cursor', async () => {
    const first = await list('limit=3');
    for (const other of ['limit=4', 'limit=3&sort=id', 'limit=3&filter[city]=Boston']) {
      const r = await get(`/api/v1/profiles?filter[run]=${run}&${other}&cursor=${first.next}`);
      expect(r.status).toBe(400);
      expect(r.body.detail).toContain('`cursor`');
    }
    const garbage = await get(`/api/v1/profiles?cursor=not!a*cursor`);
    expect(garbage.status).toBe(400);
    expect(garbage.body.detail).toContain('`cursor`');
    const forged = Buffer.from(JSON.stringify({ k: ['yesterday', 'x'], o: 0, b: 'x' })).toString('base64url');
    expect((await get(`/api/v1/profiles?cursor=${forged}`)).status).toBe(400);
  });
});

describe('sorting', () => {
  it('when sorted with sort=field:desc and with sort_by+sort_order, then both answer the same order', async () => {
    const a = await list('sort=orders:desc');
    const b = await list('sort_by=orders&sort_order=desc');
    expect(idsOf(a)).toEqual([...ids].reverse());
    expect(idsOf(b)).toEqual(idsOf(a));
    expect(idsOf(await list('sort_by=created_at&sort_order=desc'))).toEqual([...ids].reverse());
  });

  it('when sorted by several fields, then the first decides and the next breaks its ties', async () => {
    const body = await list('sort=city,orders:desc');
    const keys = body.profiles.map((p: any) => [p.attributes.city, p.attributes.orders]);
    const expected = [...keys].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : y[1] - x[1]));
    expect(keys).toEqual(expected);
    expect(keys[0]).toEqual(['Berlin', 10]);
  });

  it('when sorted by status, id or updated_at, then the order follows that field', async () => {
    const byStatus = await list('sort=status:desc');
    expect(byStatus.profiles[0].id).toBe(ids[4]); // closed sorts after active; desc puts it first
    const byId = idsOf(await list('sort=id'));
    expect(byId).toEqual([...ids].sort());
    const byUpdated = (await list('sort=updated_at:desc')).profiles.map((p: any) => p.updated_at);
    expect(byUpdated).toEqual([...byUpdated].sort().reverse());
  });
});

describe('filtering', () => {
  it('when filtered by an attribute, status, tag or identifier (normalised like a look-up), then exactly the matches answer', async () => {
    expect(idsOf(await list('filter[city]=Berlin'))).toEqual([1, 4, 7, 10].map((i) => ids[i]));
    expect(idsOf(await list('filter[orders]=3'))).toEqual([ids[3]]);
    expect(idsOf(await list('filter[status]=closed'))).toEqual([ids[4]]);
    expect((await list('filter[status]=active')).total).toBe(PEOPLE - 1);
    expect((await list('filter[status]=suspended')).total).toBe(0);
    expect(idsOf(await list('filter[tag]=vip'))).toEqual([ids[4], ids[7]]);
    expect(idsOf(await list('filter[tag]=gold&filter[status]=closed'))).toEqual([ids[4]]);
    expect(idsOf(await list(`filter[email]=${encodeURIComponent(` P2.${run.toUpperCase()}@EXAMPLE.COM `)}`))).toEqual([ids[2]]);
    // A blocked identifier value matches no one (as a look-up answers 404).
    expect(await list('filter[email]=null')).toMatchObject({ profiles: [], total: 0 });
  });

  it('when q holds prefixes and comparisons (AND), then numbers and ISO times compare and value* is a prefix', async () => {
    expect(idsOf(await list('q=first_name:Al*'))).toEqual([ids[0], ids[1]]);
    expect(idsOf(await list('q=orders:>=3,orders:<6'))).toEqual([ids[3], ids[4], ids[5]]);
    expect(idsOf(await list('q=orders:>9'))).toEqual([ids[10], ids[11]]);
    expect(idsOf(await list('q=orders:<=1'))).toEqual([ids[0], ids[1]]);
    expect(idsOf(await list('q=joined_at:>2026-01-10T00:00:00Z'))).toEqual([ids[10], ids[11]]);
    expect(idsOf(await list('q=city:Berlin,orders:>5'))).toEqual([ids[7], ids[10]]);
    expect(idsOf(await list(`q=email:p1*`))).toEqual([ids[1], ids[10], ids[11]]);
    expect(idsOf(await list('q=tag:go*'))).toEqual([ids[4]]);
    const all = await list();
    const sixth = all.profiles[6].created_at;
    expect(idsOf(await list(`q=created_at:>=${sixth}`))).toEqual(ids.slice(6));
  });
});

describe('bad parameters', () => {
  const cases: Array<[string, string]> = [
    ['unknown=1', 'unknown'],
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=ten', 'limit'],
    ['limit=5&limit=6', 'limit'],
    ['offset=-1', 'offset'],
    ['offset=1000001', 'offset'],
    ['pageNumber=0', 'pageNumber'],
    ['pageSize=501', 'pageSize'],
    ['limit=5&pageNumber=2', 'limit'],
    ['offset=5&cursor=abc', 'offset'],
    ['sort=Bad-Field', 'sort'],
    ['sort=city:sideways', 'sort'],
    ['sort=city,city', 'sort'],
    ['sort=city&sort_by=city', 'sort_by'],
    ['sort_by=Bad-Field', 'sort_by'],
    ['sort_order=up', 'sort_order'],
    ['filter[Bad-Field]=x', 'filter[Bad-Field]'],
    ['filter[status]=gone', 'filter[status]'],
    ['filter[city]=', 'filter[city]'],
    ['filter[email]=not-an-email', 'filter[email]'],
    ['filter[created_at]=yesterday', 'filter[created_at]'],
    ['q=nocolon', 'q'],
    ['q=orders:>abc', 'q'],
    ['q=status:>3', 'q'],
    ['q=created_at:>5', 'q'],
    ['q=city:*', 'q'],
    ['cursor=%21%21%21', 'cursor'],
  ];

  it.each(cases)('when the query is %s, then 400 problem+json naming %s', async (query, parameter) => {
    const r = await get(`/api/v1/profiles?${query}`);
    expect(r.status).toBe(400);
    expect(r.contentType).toMatch(/^application\/problem\+json/);
    expect(r.body).toEqual({ type: expect.any(String), title: 'Bad Request', status: 400, detail: expect.any(String), instance: '/api/v1/profiles' });
    expect(r.body.detail).toContain(`\`${parameter}\``);
  });

  it("when a customer's listing gets a bad parameter, then 400 naming it too", async () => {
    const r = await get(`/api/v1/customers/acme/profiles?limit=0`);
    expect(r.status).toBe(400);
    expect(r.body.detail).toContain('`limit`');
  });
});
