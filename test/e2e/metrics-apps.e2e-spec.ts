// Issue 12 "Metrics", the split deployment (DESIGN §1, §13): the built ingest, worker and query apps,
// each its own process on one database and the Postgres log, each answer GET /metrics (Prometheus text,
// no key) with the figures of the work it does — ingest its items and log appends, the worker its
// projector batches and consumer lag, query its look-up latency — plus the pool and process figures.
import { createTenantKey, startAppProcess, type AppProcess } from '../support/app-process';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { parsePrometheusText, type PrometheusExposition } from '../support/prometheus-text';
import { eventually } from '../support/single-node-server';

const TOPIC = 'tessera.profile-upserts.v1';
const GROUP = 'tessera.profile-projector';

type App = AppProcess;
const startApp = (name: 'ingest' | 'worker' | 'query', databaseUrl: string) => startAppProcess(name, { DATABASE_URL: databaseUrl, TESSERA_PARTITIONS: '2', TESSERA_DB_POOL_SIZE: '4' });

async function scrape(app: App): Promise<PrometheusExposition> {
  const r = await fetch(`${app.url}/metrics`);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await r.text());
}

let db: TestDatabase;
let worker: App | undefined;
let ingest: App | undefined;
let query: App | undefined;
let key: string;
const email = `apps.${process.pid}@example.com`;

beforeAll(async () => {
  db = await createTestDatabase('metrics_apps');
  worker = await startApp('worker', db.url); // first: it migrates and creates the topics alone
  [ingest, query] = await Promise.all([startApp('ingest', db.url), startApp('query', db.url)]);
  key = await createTenantKey(db.url, 'metrics', 'private');
}, 120_000);

afterAll(async () => {
  const codes = await Promise.all([ingest, query, worker].map((a) => a?.stop()));
  await db?.drop();
  expect(codes).toEqual([0, 0, 0]);
});

describe('given ingest, worker and query as separate processes', () => {
  it('when a batch is ingested and looked up, then each app scrapes with the figures of its own work', async () => {
    const items = [0, 1, 2, 3].map((i) => ({ attributes: { email: i === 0 ? email : `${i}.${email}`, first_name: `A${i}` } }));
    const posted = await fetch(`${ingest!.url}/v3/profiles`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(items) });
    expect(posted.status).toBe(202);
    await eventually(async () => {
      const r = await fetch(`${query!.url}/v3/profiles?email=${encodeURIComponent(email)}`, { headers: { 'x-api-key': key } });
      return r.status === 200 || undefined;
    }, 20_000, 100);

    const ingested = await scrape(ingest!);
    expect(ingested.sum('tessera_ingest_items_total', { route: '/v3/profiles' })).toBe(4);
    expect(ingested.sum('tessera_ingest_requests_total', { route: '/v3/profiles', status: '202' })).toBe(1);
    expect(ingested.sum('tessera_log_append_duration_seconds_count', { topic: TOPIC, outcome: 'ok' })).toBe(1);
    expect(ingested.sum('tessera_http_request_duration_seconds_count', { method: 'POST', route: '/v3/profiles', status: '202' })).toBe(1);

    const worked = await eventually(async () => {
      const s = await scrape(worker!);
      return s.sum('tessera_projector_records_applied_total', { group: GROUP, kind: 'upsert' }) >= 4 ? s : undefined;
    }, 10_000, 100);
    expect(worked.sum('tessera_projector_batch_records_sum', { group: GROUP })).toBeGreaterThanOrEqual(4);
    expect(worked.find('tessera_consumer_lag_records', { group: GROUP, topic: TOPIC }).map((s) => s.labels.partition).sort()).toEqual(['0', '1']);
    expect(worked.sum('tessera_log_end_offset', { topic: TOPIC })).toBe(4);

    const queried = await scrape(query!);
    expect(queried.sum('tessera_profile_read_duration_seconds_count', { operation: 'lookup' })).toBeGreaterThanOrEqual(1);
    expect(queried.find('tessera_projector_records_applied_total')).toEqual([]); // query projects nothing
    expect(queried.find('tessera_ingest_items_total')).toEqual([]);

    for (const s of [ingested, worked, queried]) {
      expect(s.sum('tessera_db_pool_connections', { state: 'max' })).toBe(4);
      expect(s.sum('process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(s.find('nodejs_eventloop_lag_seconds')).toHaveLength(1);
    }
  }, 60_000);
});
