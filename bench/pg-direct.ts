/**
 * Direct access to the single-node server's embedded PostgreSQL (its data dir's postmaster.pid names
 * the port): consumer lag, pausing the projector, database counters and ceiling D.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { embeddedPostgresPassword } from '../libs/store/src/database/embedded-postgres.server';
import { nowMs } from './stats';

export const PROJECTOR_GROUP = 'tessera.profile-projector';
export const UPSERTS_TOPIC = 'tessera.profile-upserts.v1';

export function embeddedDatabaseUrl(dataDir: string): string {
  const lines = readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n');
  const port = Number(lines[3]);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`no port in ${dataDir}/pg/postmaster.pid`);
  return `postgres://tessera:${encodeURIComponent(embeddedPostgresPassword(dataDir))}@127.0.0.1:${port}/tessera`;
}

export async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: 'tessera-bench' });
  await client.connect();
  return client;
}

export interface LogPosition {
  /** Sum over partitions of the log's next offset (records in the topic). */
  end: number;
  /** Sum over partitions of the projector's stored next offset (records applied). */
  applied: number;
}

export async function logPosition(db: Client): Promise<LogPosition> {
  const { rows } = await db.query<{ end: string | null; applied: string | null }>(
    `SELECT (SELECT sum(next_offset) FROM log_partitions WHERE topic = $1) AS end,
            (SELECT sum(next_offset) FROM consumer_offsets WHERE consumer_group = $2 AND topic = $1) AS applied`,
    [UPSERTS_TOPIC, PROJECTOR_GROUP],
  );
  return { end: Number(rows[0]?.end ?? 0), applied: Number(rows[0]?.applied ?? 0) };
}

/**
 * Pauses the projector without touching its code: every batch it applies starts with
 * `SELECT … FROM consumer_offsets … FOR UPDATE`, which waits while this session holds the table in
 * EXCLUSIVE mode (plain reads, such as the lag query, still run). Resume = commit.
 */
export class ProjectorPause {
  private constructor(private readonly client: Client) {}

  static async hold(url: string): Promise<ProjectorPause> {
    const client = await connect(url);
    client.on('error', () => undefined); // a server that goes away is reported by the phase checks
    await client.query('BEGIN');
    await client.query('LOCK TABLE consumer_offsets IN EXCLUSIVE MODE');
    return new ProjectorPause(client);
  }

  async release(): Promise<void> {
    await this.client.query('COMMIT');
    await this.client.end();
  }
}

/** Polls until the projector has applied everything in the log (or the deadline passes). */
export async function waitApplied(
  db: Client,
  options: { target?: number; timeoutMs: number; intervalMs?: number; onPoll?: (p: LogPosition, atMs: number) => void },
): Promise<{ position: LogPosition; atMs: number; complete: boolean }> {
  const deadline = nowMs() + options.timeoutMs;
  for (;;) {
    const position = await logPosition(db);
    const atMs = nowMs();
    options.onPoll?.(position, atMs);
    const target = options.target ?? position.end;
    if (position.applied >= target) return { position, atMs, complete: true };
    if (atMs > deadline) return { position, atMs, complete: false };
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 20));
  }
}

export interface DbCounters {
  xactCommit: number;
  tupInserted: number;
  tupUpdated: number;
  walBytes: number;
  walRecords: number;
}

export async function dbCounters(db: Client): Promise<DbCounters> {
  const { rows } = await db.query<{ xact_commit: string; tup_inserted: string; tup_updated: string }>(
    `SELECT xact_commit, tup_inserted, tup_updated FROM pg_stat_database WHERE datname = current_database()`,
  );
  let walBytes = NaN;
  let walRecords = NaN;
  try {
    const wal = await db.query<{ wal_bytes: string; wal_records: string }>('SELECT wal_bytes, wal_records FROM pg_stat_wal');
    walBytes = Number(wal.rows[0]?.wal_bytes);
    walRecords = Number(wal.rows[0]?.wal_records);
  } catch {
    /* older server */
  }
  // Statistics are flushed by backends at most once a second; the caller reads them after a pause.
  return {
    xactCommit: Number(rows[0]?.xact_commit ?? 0),
    tupInserted: Number(rows[0]?.tup_inserted ?? 0),
    tupUpdated: Number(rows[0]?.tup_updated ?? 0),
    walBytes,
    walRecords,
  };
}

export function counterDelta(a: DbCounters, b: DbCounters): DbCounters {
  return {
    xactCommit: b.xactCommit - a.xactCommit,
    tupInserted: b.tupInserted - a.tupInserted,
    tupUpdated: b.tupUpdated - a.tupUpdated,
    walBytes: b.walBytes - a.walBytes,
    walRecords: b.walRecords - a.walRecords,
  };
}

export async function projectionCounts(db: Client): Promise<{ profiles: number; mergedAway: number; identifiers: number; warnings: number }> {
  const { rows } = await db.query<{ profiles: number; merged: number; identifiers: number; warnings: number }>(
    `SELECT (SELECT count(*) FROM profiles WHERE merged_into IS NULL)::int AS profiles,
            (SELECT count(*) FROM profiles WHERE merged_into IS NOT NULL)::int AS merged,
            (SELECT count(*) FROM identifiers)::int AS identifiers,
            (SELECT count(*) FROM identity_warnings)::int AS warnings`,
  );
  return { profiles: rows[0]!.profiles, mergedAway: rows[0]!.merged, identifiers: rows[0]!.identifiers, warnings: rows[0]!.warnings };
}

/** A PostgreSQL array literal of text elements: {"a","b\\"c"}. */
function arrayLiteral(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

export interface CeilingRow {
  key: string;
  /** The item's attributes as JSON text. */
  attributes: string;
}

/**
 * Ceiling D: the same number of rows the projector applied, upserted into a table shaped like the real
 * `profiles` (`LIKE profiles INCLUDING ALL`: its columns, defaults, constraints and every index — the GIN on
 * attributes, (tenant, created_at, id), … — plus its storage options such as fillfactor; so an index added
 * to profiles shows in D too) on the same PostgreSQL, with one multi-row `unnest` statement per batch (batch
 * size = the worker's), each its own durable commit on one connection, like the single-partition
 * projector. Each row carries what the projector writes: attributes, attribute_versions ([ts ms, record id]
 * per attribute), created/updated times and record id, `merged_into` null (a live row: in the partial
 * indexes). Parameters are prepared before the clock starts; rows of one key within a batch are folded
 * (ON CONFLICT cannot touch a row twice).
 */
export async function ceilingDb(
  url: string,
  rows: CeilingRow[],
  batchSize: number,
  tenant = 'default',
): Promise<{ rows: number; distinctRows: number; statements: number; seconds: number; rowsPerSec: number; table: CeilingTableShape }> {
  const db = await connect(url);
  try {
    await db.query('DROP TABLE IF EXISTS bench_ceiling_profiles');
    await db.query('CREATE TABLE bench_ceiling_profiles (LIKE profiles INCLUDING ALL)');
    const { rows: rel } = await db.query<{ reloptions: string[] | null }>(`SELECT reloptions FROM pg_class WHERE oid = 'profiles'::regclass`);
    const reloptions = rel[0]?.reloptions ?? [];
    if (reloptions.length) await db.query(`ALTER TABLE bench_ceiling_profiles SET (${reloptions.join(', ')})`);
    const table = await compareShape(db);
    // A difference (none expected from LIKE … INCLUDING ALL) is reported with the result: `ceilings.db.table`.
    // Parameters as ready-made array literals: the driver only sends text, so D measures the database.
    const batches: Array<[string, string, string, string]> = [];
    const ms = Date.now();
    let seq = 0;
    for (let i = 0; i < rows.length; i += batchSize) {
      const folded = new Map<string, [string, string, string]>();
      for (const r of rows.slice(i, i + batchSize)) {
        const recordId = `0190${(seq++).toString(16).padStart(28, '0')}`.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
        const names = Object.keys(JSON.parse(r.attributes) as Record<string, unknown>);
        const versions = JSON.stringify(Object.fromEntries(names.map((n) => [n, [ms + seq, recordId]])));
        folded.set(r.key, [r.attributes, versions, recordId]);
      }
      const v = [...folded.values()];
      batches.push([arrayLiteral([...folded.keys()]), arrayLiteral(v.map((x) => x[0])), arrayLiteral(v.map((x) => x[1])), arrayLiteral(v.map((x) => x[2]))]);
    }
    const sql = `INSERT INTO bench_ceiling_profiles AS t (tenant, id, attributes, attribute_versions, created_at, created_record_id, updated_at)
      SELECT $1, u.id, u.attributes, u.versions, now(), u.rid, now()
        FROM unnest($2::text[], $3::jsonb[], $4::jsonb[], $5::text[]) AS u(id, attributes, versions, rid)
      ON CONFLICT (tenant, id) DO UPDATE SET attributes = t.attributes || EXCLUDED.attributes,
        attribute_versions = t.attribute_versions || EXCLUDED.attribute_versions, updated_at = EXCLUDED.updated_at, version = t.version + 1`;
    const started = nowMs();
    for (const [keys, values, versions, rids] of batches) await db.query({ name: 'bench-ceiling-upsert-v2', text: sql, values: [tenant, keys, values, versions, rids] });
    const seconds = (nowMs() - started) / 1000;
    const { rows: count } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM bench_ceiling_profiles');
    await db.query('DROP TABLE bench_ceiling_profiles');
    return { rows: rows.length, distinctRows: count[0]!.n, statements: batches.length, seconds, rowsPerSec: rows.length / seconds, table };
  } finally {
    await db.end();
  }
}

export interface CeilingTableShape {
  sameAsProfiles: boolean;
  columns: string[];
  /** Index definitions of the bench table with its name replaced by `profiles`' (what profiles has). */
  indexes: string[];
  reloptions: string[];
  missingIndexes: string[];
}

/** Columns (name, type, not null, default) and index definitions of bench_ceiling_profiles against profiles. */
async function compareShape(db: Client): Promise<CeilingTableShape> {
  const shape = async (table: string) => {
    const { rows: cols } = await db.query<{ c: string }>(
      `SELECT attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' not null' ELSE '' END ||
              coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') AS c
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [table],
    );
    const { rows: idx } = await db.query<{ def: string }>(
      `SELECT regexp_replace(pg_get_indexdef(indexrelid), '^CREATE (UNIQUE )?INDEX \\S+ ON \\S+ ', 'CREATE \\1INDEX ON t ') AS def
         FROM pg_index WHERE indrelid = $1::regclass ORDER BY 1`,
      [table],
    );
    const { rows: rel } = await db.query<{ o: string[] | null }>(`SELECT reloptions AS o FROM pg_class WHERE oid = $1::regclass`, [table]);
    return { columns: cols.map((r) => r.c), indexes: idx.map((r) => r.def), reloptions: rel[0]?.o ?? [] };
  };
  const [real, bench] = [await shape('profiles'), await shape('bench_ceiling_profiles')];
  const missingIndexes = real.indexes.filter((d) => !bench.indexes.includes(d));
  const same =
    JSON.stringify(real.columns) === JSON.stringify(bench.columns) && missingIndexes.length === 0 && real.indexes.length === bench.indexes.length &&
    JSON.stringify([...real.reloptions].sort()) === JSON.stringify([...bench.reloptions].sort());
  return { sameAsProfiles: same, columns: real.columns, indexes: real.indexes, reloptions: real.reloptions, missingIndexes };
}

/** One row of pg_stat_statements (cumulative). */
export interface StatementStat {
  query: string;
  calls: number;
  execMs: number;
  planMs: number;
  rows: number;
}

/**
 * Profiling only: loads pg_stat_statements into the embedded server (takes effect at its next start)
 * so phases can report server-side execution and planning time per statement.
 */
export async function enableStatementStats(db: Client): Promise<void> {
  await db.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
  await db.query(`ALTER SYSTEM SET pg_stat_statements.track_planning = on`);
  await db.query(`ALTER SYSTEM SET pg_stat_statements.track = 'all'`);
}

export async function statementStats(db: Client): Promise<Map<string, StatementStat> | undefined> {
  try {
    await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const { rows } = await db.query<{ id: string; query: string; calls: string; exec: number; plan: number; rows: string }>(
      `SELECT queryid::text AS id, query, calls, total_exec_time AS exec, total_plan_time AS plan, rows
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    return new Map(rows.map((r) => [r.id, { query: r.query, calls: Number(r.calls), execMs: r.exec, planMs: r.plan, rows: Number(r.rows) }]));
  } catch {
    return undefined;
  }
}
