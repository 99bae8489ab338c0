import { DataSource } from 'typeorm';
import { PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { LogRecord, RecordBatch } from '@tessera/event-log';
import { Infrastructure, logPort } from '@tessera/runtime';
import { RULES_VERSION } from '@tessera/identity';
import { acquireReplayLease, ProjectionRulesRepository } from '@tessera/store';
import { PROFILE_PROJECTOR_GROUP, ProfileProjector, WriteBehindLostError } from '@tessera/profile-projection';
import { drainTopic, DrainProgress } from './drain-topic';

/** Records per transaction of the apply phase. */
const APPLY_CHUNK = 2000;
/** Pseudo partition of the replay's own checkpoint while it applies in record-id order. */
const REPLAY_ORDER_PARTITION = -1;
/** Projections a replay rebuilds from the log. Privacy state (erased identifiers, erasure requests) is kept. */
const PROJECTION_TABLES = ['profiles', 'identifiers', 'identity_warnings', 'profile_events', 'idempotence_ids', 'consents', 'profile_write_outcomes'];

function formatProgress(verb: string, p: DrainProgress): string {
  const rate = p.elapsedMs > 0 ? Math.round((p.done * 1000) / p.elapsedMs) : 0;
  const eta = rate > 0 ? Math.max(0, Math.round((p.total - p.done) / rate)) : 0;
  return `${verb} ${p.done}/${p.total} records (${rate} records/s, ETA ${eta}s)`;
}

/**
 * The order of a replay: by record id (UUID v7: the time ingest received the record, then its position
 * in the request), then partition and offset. It does not depend on how many partitions the log has, so
 * two replays of the same records give identical state, ids included, whatever the partition count.
 * Records without an id (tombstones, undecodable values) sort first: they apply nothing.
 */
export function replaySortKey(value: Buffer | null): string {
  if (!value || value.length === 0) return '';
  // Every builder writes `id` first; fall back to a full parse for anything else.
  const head = value.subarray(0, 64).toString('latin1');
  const m = /^\{"id":"([0-9a-f-]{36})"/.exec(head);
  if (m) return m[1];
  try {
    const id = (JSON.parse(value.toString('utf8')) as { id?: unknown }).id;
    return typeof id === 'string' ? id : '';
  } catch {
    return '';
  }
}

/** Copies a drained batch into replay_records in one statement. */
async function stage(dataSource: DataSource, batch: RecordBatch): Promise<void> {
  const r = batch.records;
  await dataSource.query(
    `INSERT INTO replay_records (sort_key, partition, "offset", key, value, headers, tombstone)
     SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::bytea[], $6::jsonb[], $7::boolean[])
     ON CONFLICT DO NOTHING`,
    [
      r.map((x) => replaySortKey(x.value)),
      r.map((x) => x.partition),
      r.map((x) => x.offset),
      r.map((x) => x.key),
      r.map((x) => x.value ?? Buffer.alloc(0)),
      r.map((x) => JSON.stringify(x.headers)),
      r.map((x) => x.tombstone === true),
    ],
  );
}

interface StagedRow {
  sort_key: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  tombstone: boolean;
}

/** Applies the staged records in replay order, chunk by chunk, each chunk one projector transaction. */
async function applyInReplayOrder(dataSource: DataSource, projector: ProfileProjector, total: number, out?: NodeJS.WritableStream): Promise<void> {
  const startedAt = Date.now();
  let after: [string, number, string] = ['', -1, '-1'];
  let sequence = 0;
  let lastReport = 0;
  for (;;) {
    const rows: StagedRow[] = await dataSource.query(
      `SELECT sort_key, partition, "offset", key, value, headers, tombstone FROM replay_records
        WHERE (sort_key, partition, "offset") > ($1, $2, $3::bigint) ORDER BY sort_key, partition, "offset" LIMIT $4`,
      [...after, APPLY_CHUNK],
    );
    if (rows.length === 0) break;
    const records: LogRecord[] = rows.map((row) => ({
      topic: PROFILE_UPSERTS_TOPIC,
      partition: REPLAY_ORDER_PARTITION,
      offset: sequence++,
      key: row.key,
      value: row.value,
      headers: row.headers,
      timestamp: new Date(0).toISOString(),
      tombstone: row.tombstone || undefined,
      origin: { partition: row.partition, offset: Number(row.offset) },
    }));
    await projector.handleBatch({ topic: PROFILE_UPSERTS_TOPIC, partition: REPLAY_ORDER_PARTITION, records, highWatermark: total });
    const last = rows[rows.length - 1];
    after = [last.sort_key, last.partition, last.offset];
    if (out && Date.now() - lastReport >= 1000) {
      lastReport = Date.now();
      out.write(`${formatProgress('replayed', { done: sequence, total, elapsedMs: Date.now() - startedAt })}\n`);
    }
  }
}

/**
 * Truncates the projections (and `also`) and the group's checkpoints in one transaction, stamped with
 * this version's RULES_VERSION: from here on everything is projected under its rules (a crash mid-replay included).
 */
async function emptyProjections(dataSource: DataSource, group: string, ...also: string[]): Promise<void> {
  await dataSource.transaction(async (m) => {
    await m.query(`TRUNCATE ${[...PROJECTION_TABLES, ...also].join(', ')}`);
    await m.query('DELETE FROM consumer_offsets WHERE consumer_group = $1', [group]);
    await new ProjectionRulesRepository(m).write(RULES_VERSION);
  });
}

/**
 * Applies the staged records with the graph kept in memory and its rows written behind (each profile and
 * identifier saved once, in its final state). Should a transaction fail on the way, the rows only memory
 * held are gone: the projections are emptied again and the records applied once more, each batch saving
 * its own rows.
 */
async function applyStaged(infra: Infrastructure, group: string, total: number, out?: NodeJS.WritableStream): Promise<void> {
  const dataSource = infra.database.dataSource;
  const projectorWith = (writeBehind: boolean) =>
    new ProfileProjector(dataSource, infra.eventLog, infra.tenants, logPort(infra.logger), group, { residentGraph: true, writeBehind });
  try {
    const projector = projectorWith(true);
    await applyInReplayOrder(dataSource, projector, total, out);
    await projector.finishReplay();
  } catch (error) {
    if (!(error instanceof WriteBehindLostError)) throw error;
    out?.write(`${error.message}; applying again, each batch saving its own rows\n`);
    await emptyProjections(dataSource, group);
    await applyInReplayOrder(dataSource, projectorWith(false), total, out);
  }
}

/**
 * Rebuilds every projection from offset 0 of the event store. Once this process owns all partitions
 * of the worker's group, the projections and the group's checkpoints are truncated in one transaction
 * (stamped with this version's RULES_VERSION); the log up to the end offsets seen at the start is copied
 * into replay_records and applied through the worker's projector in record-id order (see replaySortKey);
 * then the group's checkpoints are set to those end offsets, so a worker continues with what came after.
 */
export async function replayProjections(infra: Infrastructure, options: { out?: NodeJS.WritableStream; group?: string; assignmentTimeoutMs?: number } = {}): Promise<DrainProgress> {
  const group = options.group ?? PROFILE_PROJECTOR_GROUP;
  const dataSource = infra.database.dataSource;
  const lease = await acquireReplayLease(dataSource);
  const startedAt = Date.now();
  try {
    const staged = await drainTopic(infra.eventLog, {
      groupId: group,
      topic: PROFILE_UPSERTS_TOPIC,
      fromZero: true,
      assignmentTimeoutMs: options.assignmentTimeoutMs,
      beforeFirstBatch: () => emptyProjections(dataSource, group, 'replay_records'),
      handleBatch: (batch) => stage(dataSource, batch),
      onProgress: (p) => options.out?.write(`${formatProgress('read', p)}\n`),
    });
    await applyStaged(infra, group, staged.done, options.out);
    await dataSource.transaction(async (m) => {
      await m.query('DELETE FROM consumer_offsets WHERE consumer_group = $1', [group]);
      await m.query(
        `INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset, updated_at)
         SELECT $1, $2, p, o, now() FROM unnest($3::int[], $4::bigint[]) AS e(p, o)`,
        [group, PROFILE_UPSERTS_TOPIC, staged.ends.map((e) => e.partition), staged.ends.map((e) => e.offset)],
      );
      await m.query('TRUNCATE replay_records');
    });
    const result = { done: staged.done, total: staged.total, elapsedMs: Date.now() - startedAt };
    options.out?.write(`${formatProgress('replayed', result)}\n`);
    options.out?.write(`replay done: ${result.done} records in ${(result.elapsedMs / 1000).toFixed(1)}s\n`);
    return result;
  } finally {
    await lease.release();
  }
}
