// TESSERA_SEARCH_ATTRIBUTES against the single-node server, as an operator uses it: declared at start,
// a listing filtered on the attribute answers through its column; declared away at the next start, the
// same listing answers the same through the GIN; a bad list stops the start naming the variable.
import { Client } from 'pg';
import { embeddedPostgresUrl } from '@tessera/store';
import { ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const run = `sa${process.pid}`;
const CITIES = ['Boston', 'Berlin', 'Boston', 'Tokyo', 'Boston', 'Berlin', 'Boston'];
let server: SingleNode | undefined;
let dataDir: string;

async function start(value: string): Promise<SingleNode> {
  server = await startSingleNode({ dataDir, env: { TESSERA_SEARCH_ATTRIBUTES: value } });
  return server;
}

async function stop(): Promise<void> {
  expect(await server!.stop()).toBe(0);
  server = undefined;
}

async function searchColumns(s: SingleNode): Promise<string[]> {
  const db = new Client({ connectionString: embeddedPostgresUrl(s.dataDir, 'tessera') });
  await db.connect();
  try {
    const { rows } = await db.query(`SELECT attname FROM pg_attribute WHERE attrelid = 'profiles'::regclass AND NOT attisdropped AND starts_with(attname, 'search_attr_') ORDER BY 1`);
    return rows.map((r) => r.attname);
  } finally {
    await db.end();
  }
}

/** Boston's active profiles of this run, newest update first, walked two at a time by cursor. */
async function walkBoston(s: SingleNode): Promise<{ ids: string[]; totals: number[] }> {
  const ids: string[] = [];
  const totals: number[] = [];
  let cursor = '';
  for (let page = 0; page < 10; page++) {
    const r = await fetch(`${s.url}/api/v1/profiles?filter[city]=Boston&filter[status]=active&filter[run]=${run}&sort=updated_at:desc&limit=2${cursor}`, { headers: { 'x-api-key': s.privateKey } });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { profiles: Array<{ id: string; attributes: { city: string } }>; total: number; next: string | null };
    totals.push(body.total);
    for (const p of body.profiles) {
      expect(p.attributes.city).toBe('Boston');
      ids.push(p.id);
    }
    if (!body.next) break;
    cursor = `&cursor=${encodeURIComponent(body.next)}`;
  }
  return { ids, totals };
}

afterAll(async () => {
  if (server) await stop();
  server?.cleanup();
}, 60_000);

it('given city declared, then a listing on it answers the same before and after it is declared away, and a bad list stops the start', async () => {
  const first = await startSingleNode({ env: { TESSERA_SEARCH_ATTRIBUTES: 'city' } });
  server = first;
  dataDir = first.dataDir;
  expect(await searchColumns(first)).toEqual(['search_attr_city']);
  const client = new ProfilesClient(first.url, first.publicKey, first.privateKey);
  const people = CITIES.map((city, i) => ({ attributes: { email: `p${i}.${run}@example.com`, city, run } }));
  expect((await client.post(people)).status).toBe(202);
  for (let i = 0; i < people.length; i++) await client.until(`email=p${i}.${run}%40example.com`, undefined, 60_000);

  const declared = await walkBoston(first);
  expect(declared.ids).toHaveLength(4);
  expect(new Set(declared.ids).size).toBe(4);
  expect(new Set(declared.totals)).toEqual(new Set([4]));
  await stop();

  const second = await start('none');
  expect(await searchColumns(second)).toEqual([]);
  expect(await walkBoston(second)).toEqual(declared);
  await stop();

  await expect(start('City')).rejects.toThrow(/TESSERA_SEARCH_ATTRIBUTES/);
  server = undefined;
  const third = await start('city');
  expect(await searchColumns(third)).toEqual(['search_attr_city']);
  expect(await walkBoston(third)).toEqual(declared);
}, 300_000);
