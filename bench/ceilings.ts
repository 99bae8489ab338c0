/**
 * Ceilings L and Q of `npm run bench` (issue 12): what the log and the look-up statement do on this
 * machine's PostgreSQL without Tessera's HTTP and Nest pipeline, measured in the same run.
 *
 *   L  raw append: the records ingest would publish for the population's bodies (built before the clock by
 *      the ingest route's own `prepare`, default identifier rules), appended through the Postgres log
 *      adapter (`PostgresEventLog.produce`, the class single-node ingest calls) on the same database, one
 *      produce call per body, `concurrency` calls in flight (closed loop, as the ingest phase's
 *      connections; the adapter merges concurrent calls into one transaction as it does for ingest), a
 *      pool of the server's size; the first 5% of the bodies warm up, the rest are appended once and
 *      cycled until at least 10 s have passed. Into a topic of its own with the same partition count,
 *      deleted (and vacuumed) afterwards, so the projector and the replay never see them.
 *   Q  the look-up: `ProfileQueryRepository.findByIdentifier` (the very call GET /v3/profiles?email= makes:
 *      look-ups waiting at once share one prepared statement) straight through `pg`, same emails, same
 *      concurrency as the look-up phase, a pool of the server's size; closed loop (req/s). Q1 beside it:
 *      one statement per look-up (`findByIdentifiers([key])`, what every look-up cost before batching).
 */
import { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { IdentifierRules } from '../libs/identity/src/identifier-rules';
import { PostgresEventLog } from '../libs/event-log/src/postgres/postgres-event-log';
import { PROFILE_UPSERT_INGEST, type IngestLogRecord } from '../libs/profile-ingest/src/ingest-kinds';
import { ProfileQueryRepository } from '../libs/store/src/repositories/profile-query.repository';
import type { Client } from 'pg';
import { UPSERTS_TOPIC } from './pg-direct';
import { nowMs, round, summarize } from './stats';

/** TESSERA_DB_POOL_SIZE's default (libs/config/src/tessera.env.ts): the server's pool. */
export const SERVER_POOL_SIZE = Number(process.env.TESSERA_DB_POOL_SIZE || 20);
const CEILING_TOPIC = 'bench.ceiling-log';

export interface LogCeiling {
  recordsPerSec: number;
  records: number;
  calls: number;
  seconds: number;
  concurrency: number;
  poolSize: number;
  partitions: number;
  /** p50 / p99 of one produce call (ms), closed loop. */
  callP50Ms: number;
  callP99Ms: number;
  avgRecordBytes: number;
}

/** The tenant of the server's keys (single node: one). */
export async function serverTenant(db: Client): Promise<string> {
  const { rows } = await db.query<{ tenant_id: string }>('SELECT tenant_id FROM api_keys ORDER BY created_at LIMIT 1');
  if (!rows[0]) throw new Error('no api key in the database');
  return rows[0].tenant_id;
}

/** The records ingest publishes for each body (one array per body), built as the route builds them. */
export function ingestRecords(tenant: string, bodies: Buffer[]): IngestLogRecord[][] {
  const rules = IdentifierRules.defaults();
  const fields = new Map();
  return bodies.map((b, i) => {
    const prepared = PROFILE_UPSERT_INGEST.prepare(tenant, JSON.parse(b.toString('utf8')), { rules, fields, receivedAt: new Date() });
    if (!prepared.ok) throw new Error(`ceiling L: body ${i} refused: ${JSON.stringify(prepared.detail).slice(0, 300)}`);
    return prepared.records;
  });
}

/** Appends every body once, then cycles through them again until `minSeconds` have passed (a small population is over in a blink). */
export async function ceilingLog(url: string, db: Client, batches: IngestLogRecord[][], concurrency: number, minSeconds: number): Promise<LogCeiling> {
  const { rows } = await db.query<{ partitions: number }>('SELECT partitions FROM log_topics WHERE name = $1', [UPSERTS_TOPIC]);
  const partitions = rows[0]?.partitions;
  if (!partitions) throw new Error(`ceiling L: topic ${UPSERTS_TOPIC} not found`);
  await dropTopic(db);
  const pool = new Pool({ connectionString: url, max: SERVER_POOL_SIZE, application_name: 'tessera-bench-ceiling-log' });
  pool.on('error', () => undefined); // idle connections may still report after end()
  const log = new PostgresEventLog({ pool, connectionString: url });
  try {
    await log.ensureTopics([{ name: CEILING_TOPIC, partitions }]);
    // Warm-up (connections, the appender, JIT) on the first 5% of the bodies; the rest is measured.
    const warm = Math.max(1, Math.floor(batches.length * 0.05));
    await runClosed(batches.slice(0, warm), concurrency, (b) => log.produce(CEILING_TOPIC, b));
    const measured = batches.slice(warm);
    let records = 0;
    let bytes = 0;
    const t0 = nowMs();
    const latencies = await runClosed(measured, concurrency, async (b) => {
      await log.produce(CEILING_TOPIC, b);
      records += b.length;
      for (const r of b) bytes += Buffer.byteLength(r.value);
    }, minSeconds * 1000);
    const seconds = (nowMs() - t0) / 1000;
    const lat = summarize(latencies);
    return {
      recordsPerSec: round(records / seconds),
      records,
      calls: latencies.length,
      seconds: round(seconds, 2),
      concurrency,
      poolSize: SERVER_POOL_SIZE,
      partitions,
      callP50Ms: round(lat.p50, 2),
      callP99Ms: round(lat.p99, 2),
      avgRecordBytes: round(bytes / Math.max(1, records)),
    };
  } finally {
    await log.close();
    await pool.end();
    await dropTopic(db);
  }
}

/** Removes the ceiling topic and its records (and vacuums them away, so later phases see the log as ingest left it). */
async function dropTopic(db: Client): Promise<void> {
  const { rowCount } = await db.query('DELETE FROM log_records WHERE topic = $1', [CEILING_TOPIC]);
  await db.query('DELETE FROM log_topics WHERE name = $1', [CEILING_TOPIC]); // partitions cascade
  if (rowCount) await db.query('VACUUM log_records');
}

export interface LookupCeiling {
  mode: LookupCeilingMode;
  reqPerSec: number;
  requests: number;
  found: number;
  seconds: number;
  concurrency: number;
  poolSize: number;
  p50Ms: number;
  p99Ms: number;
}

/** 'route': as the route looks up (batched); 'one-per-statement': a statement of its own per look-up (Q1). */
export type LookupCeilingMode = 'route' | 'one-per-statement';

export async function ceilingLookup(url: string, tenant: string, emails: string[], concurrency: number, seconds: number, mode: LookupCeilingMode = 'route'): Promise<LookupCeiling> {
  const pool = new Pool({ connectionString: url, max: SERVER_POOL_SIZE, application_name: 'tessera-bench-ceiling-lookup' });
  pool.on('error', () => undefined);
  // The repository only needs the pool TypeORM holds; this is the route's statement, name and parameters.
  const repo = new ProfileQueryRepository({ driver: { master: pool } } as unknown as DataSource);
  let next = 0;
  let found = 0;
  const lookUp = async () => {
    const email = emails[next++ % emails.length]!;
    const profile = mode === 'route' ? await repo.findByIdentifier(tenant, 'email', email) : (await repo.findByIdentifiers([{ tenant, type: 'email', value: email }]))[0];
    if (profile) found++;
  };
  try {
    await runTimed(2000, concurrency, lookUp); // warm-up: connections, prepared statements, cache
    found = 0;
    const t0 = nowMs();
    const latencies = await runTimed(seconds * 1000, concurrency, lookUp);
    const took = (nowMs() - t0) / 1000;
    const lat = summarize(latencies);
    return {
      mode,
      reqPerSec: round(latencies.length / took),
      requests: latencies.length,
      found,
      seconds: round(took, 2),
      concurrency,
      poolSize: SERVER_POOL_SIZE,
      p50Ms: round(lat.p50, 2),
      p99Ms: round(lat.p99, 2),
    };
  } finally {
    await pool.end();
  }
}

/** Every item once (then cycled until `minMs` has passed), `concurrency` in flight; latency per call. */
async function runClosed<T>(items: T[], concurrency: number, work: (item: T) => Promise<unknown>, minMs = 0): Promise<number[]> {
  const latencies: number[] = [];
  const until = nowMs() + minMs;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (items.length > 0 && (next < items.length || nowMs() < until)) {
        const item = items[next++ % items.length]!;
        const t = nowMs();
        await work(item);
        latencies.push(nowMs() - t);
      }
    }),
  );
  return latencies;
}

/** `concurrency` loops calling `work` until `durationMs` has passed; latency per call. */
async function runTimed(durationMs: number, concurrency: number, work: () => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  const end = nowMs() + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (nowMs() < end) {
        const t = nowMs();
        await work();
        latencies.push(nowMs() - t);
      }
    }),
  );
  return latencies;
}
