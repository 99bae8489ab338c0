// Issue 12 "Metrics": GET /metrics of the single-node server is Prometheus text (prom-client), open like
// /health/*, and its figures move with load: ingest items and requests by status, HTTP and read latency,
// log appends, projector batches and records by kind, consumer lag per partition, the database pool and
// the process, and a poison record appended to the log behind the server's back counts one dead letter.
// Every line of every scrape must parse as the Prometheus text format.
import { PostgresEventLog } from '@tessera/event-log';
import { openTestPool } from '../support/database';
import { dataDirDatabaseUrl } from '../support/faults/data-dir-db';
import { encodeUpserts, silentLogger } from '../support/projection-fixture';
import { parsePrometheusText, type PrometheusExposition } from '../support/prometheus-text';
import { eventually, ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const TOPIC = 'tessera.profile-upserts.v1';
const GROUP = 'tessera.profile-projector';
const PARTITIONS = 3;
const POOL_SIZE = 6;
let server: SingleNode;
let api: ProfilesClient;
const run = `m${process.pid}`;

async function scrape(): Promise<PrometheusExposition & { text: string }> {
  const r = await fetch(`${server.url}/metrics`); // no key: `none`, like /health/*
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = await r.text();
  return { ...parsePrometheusText(text), text };
}

/** A record the projector cannot apply (truncated JSON), appended to the running server's log as a buggy producer would. */
async function appendPoison(): Promise<void> {
  const url = dataDirDatabaseUrl(server.dataDir);
  const pool = openTestPool(url, 1);
  try {
    const log = new PostgresEventLog({ pool, connectionString: url, logger: silentLogger });
    const [template] = encodeUpserts([{ email: `${run}.poison@example.com` }]);
    await log.produce(TOPIC, [{ key: template.key, value: template.value.slice(0, 25), headers: template.headers }]);
    await log.close();
  } finally {
    await pool.end();
  }
}

const batch = (n: number, offset: number) => Array.from({ length: n }, (_, i) => ({ attributes: { email: `${run}.${offset + i}@example.com`, first_name: `M${offset + i}` } }));

beforeAll(async () => {
  server = await startSingleNode({ env: { TESSERA_PARTITIONS: String(PARTITIONS), TESSERA_DB_POOL_SIZE: String(POOL_SIZE) } });
  api = new ProfilesClient(server.url, server.publicKey, server.privateKey);
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  server.cleanup();
});

describe('given the single-node server under load', () => {
  let before: PrometheusExposition;
  let after: PrometheusExposition & { text: string };
  const grew = (name: string, labels?: Record<string, string>) => after.sum(name, labels) - before.sum(name, labels);

  beforeAll(async () => {
    before = await scrape();
    // Load: three accepted batches (2 + 3 + 5 items), one refused (400), one event, look-ups, a listing, a 404.
    let offset = 0;
    for (const n of [2, 3, 5]) {
      expect((await api.post(batch(n, offset))).status).toBe(202);
      offset += n;
    }
    const refused = await api.post([{ attributes: { email: `${run}.bad@example.com`, first_name: { nested: true } } }]);
    expect(refused.status).toBe(400);
    const event = await fetch(`${server.url}/v3/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': server.publicKey },
      body: JSON.stringify({ type: 'pageview', action: 'view', identifiers: { email: `${run}.0@example.com` } }),
    });
    expect(event.status).toBe(202);
    for (let i = 0; i < offset; i++) await api.until(`email=${encodeURIComponent(`${run}.${i}@example.com`)}`);
    const listing = await fetch(`${server.url}/api/v1/profiles?limit=5`, { headers: { authorization: `Bearer ${server.privateKey}` } });
    expect(listing.status).toBe(200);
    expect((await fetch(`${server.url}/no-such-route/${run}`)).status).toBe(404);
    await appendPoison();
    // The projector has applied everything once the lag is 0 on every partition.
    after = await eventually(async () => {
      const s = await scrape();
      const lag = s.find('tessera_consumer_lag_records', { group: GROUP, topic: TOPIC });
      const events = s.sum('tessera_projector_records_applied_total', { group: GROUP, kind: 'event' }) - before.sum('tessera_projector_records_applied_total', { group: GROUP, kind: 'event' });
      const dead = s.sum('tessera_dead_letters_total', { group: GROUP }) - before.sum('tessera_dead_letters_total', { group: GROUP });
      return lag.length === PARTITIONS && lag.every((l) => l.value === 0) && events >= 1 && dead >= 1 ? s : undefined;
    }, 20_000, 200);
  }, 90_000);

  it('then every scrape is Prometheus text with HELP and TYPE for each family (parsed line by line)', () => {
    for (const s of [before, after]) expect(s.samples.length).toBeGreaterThan(50);
    expect(after.types.get('tessera_ingest_items_total')).toBe('counter');
    expect(after.types.get('tessera_http_request_duration_seconds')).toBe('histogram');
    expect(after.text).toMatch(/^# HELP tessera_consumer_lag_records .+$/m);
  });

  it('then ingest items grow by the items accepted, and requests count by route and status (the 400 included)', () => {
    expect(grew('tessera_ingest_items_total', { route: '/v3/profiles' })).toBe(10);
    expect(grew('tessera_ingest_items_total', { route: '/v3/events' })).toBe(1);
    expect(grew('tessera_ingest_requests_total', { route: '/v3/profiles', status: '202' })).toBe(3);
    expect(grew('tessera_ingest_requests_total', { route: '/v3/profiles', status: '400' })).toBe(1);
    expect(grew('tessera_ingest_requests_total', { route: '/v3/events', status: '202' })).toBe(1);
    expect(grew('tessera_ingest_duration_seconds_count', { route: '/v3/profiles', status: '202' })).toBe(3);
    expect(grew('tessera_ingest_duration_seconds_count', { route: '/v3/profiles', status: '400' })).toBe(1);
  });

  it('then the HTTP histogram counts answers by method, route template and status — never a raw URL', () => {
    expect(grew('tessera_http_request_duration_seconds_count', { method: 'POST', route: '/v3/profiles', status: '202' })).toBe(3);
    expect(grew('tessera_http_request_duration_seconds_count', { method: 'POST', route: '/v3/profiles', status: '400' })).toBe(1);
    expect(grew('tessera_http_request_duration_seconds_count', { method: 'GET', route: '/v3/profiles', status: '200' })).toBeGreaterThanOrEqual(10);
    expect(grew('tessera_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/profiles', status: '200' })).toBe(1);
    expect(grew('tessera_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    const inf = after.find('tessera_http_request_duration_seconds_bucket', { method: 'POST', route: '/v3/profiles', status: '202', le: '+Inf' });
    expect(inf).toHaveLength(1);
    expect(after.text).not.toContain(run); // no URL, email or query string in any label
  });

  it('then look-up and search latency grow under their operation names', () => {
    expect(grew('tessera_profile_read_duration_seconds_count', { operation: 'lookup', status: '200' })).toBeGreaterThanOrEqual(10);
    expect(grew('tessera_profile_read_duration_seconds_count', { operation: 'search', status: '200' })).toBe(1);
  });

  it('then log appends are timed and counted (four ingest batches of 11 records; the poison went through another process)', () => {
    expect(grew('tessera_log_append_duration_seconds_count', { topic: TOPIC, outcome: 'ok' })).toBeGreaterThanOrEqual(4);
    expect(grew('tessera_log_appended_records_total', { topic: TOPIC })).toBeGreaterThanOrEqual(11);
  });

  it('then the projector counts records applied by kind and observes batch sizes and durations', () => {
    expect(grew('tessera_projector_records_applied_total', { group: GROUP, kind: 'upsert' })).toBeGreaterThanOrEqual(10);
    expect(grew('tessera_projector_records_applied_total', { group: GROUP, kind: 'event' })).toBeGreaterThanOrEqual(1);
    expect(grew('tessera_projector_batch_records_count', { group: GROUP })).toBeGreaterThanOrEqual(1);
    expect(grew('tessera_projector_batch_records_sum', { group: GROUP })).toBeGreaterThanOrEqual(11);
    expect(grew('tessera_projector_batch_duration_seconds_count', { group: GROUP, outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(grew('tessera_dead_letters_total', { group: GROUP })).toBe(1); // the poison record, once
  });

  it('then consumer lag and the end offset are present for every partition, the end offsets holding every record', () => {
    const partitions = (name: string) => after.find(name, { topic: TOPIC }).map((s) => s.labels.partition).sort();
    expect(partitions('tessera_consumer_lag_records')).toEqual(['0', '1', '2']);
    expect(partitions('tessera_log_end_offset')).toEqual(['0', '1', '2']);
    expect(after.sum('tessera_log_end_offset', { topic: TOPIC })).toBeGreaterThanOrEqual(11);
  });

  it('then the database pool and the process figures are there', () => {
    expect(after.sum('tessera_db_pool_connections', { state: 'max' })).toBe(POOL_SIZE);
    expect(after.sum('tessera_db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
    expect(after.find('tessera_db_pool_connections', { state: 'in_use' })).toHaveLength(1);
    expect(after.find('tessera_db_pool_connections', { state: 'waiting' })).toHaveLength(1);
    expect(after.sum('process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
    expect(after.find('nodejs_eventloop_lag_seconds')).toHaveLength(1);
  });
});
