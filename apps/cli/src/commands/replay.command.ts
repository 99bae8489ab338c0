import { DataSource } from 'typeorm';
import { PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { LogRecord } from '@tessera/event-log';
import { Infrastructure, logPort } from '@tessera/runtime';
import { RULES_VERSION } from '@tessera/identity';
import { acquireReplayLease, ProjectionRulesRepository } from '@tessera/store';
import { PROFILE_PROJECTOR_GROUP, ProfileProjector, WriteBehindLostError } from '@tessera/profile-projection';
import { drainTopic, DrainProgress } from './drain-topic';
import { ReplayStaging } from './replay-staging';

/** Records per transaction of the apply phase. */
const APPLY_CHUNK = 2000;
/** Pseudo partition of the replay's own checkpoint while it applies in record-id order. */
const REPLAY_ORDER_PARTITION = -1;
const EPOCH = new Date(0).toISOString();
/** Projections a replay rebuilds from the log. Privacy state (erased identifiers, erasure requests) is kept. */
const PROJECTION_TABLES = ['profiles', 'identifiers', 'identity_warnings', 'profile_events', 'idempotence_ids', 'consents', 'profile_write_outcomes'];

function formatProgress(verb: string, p: DrainProgress): string {
  const rate = p.elapsedMs > 0 ? Math.round((p.done * 1000) / p.elapsedMs) : 0;
  const eta = rate > 0 ? Math.max(0, Math.round((p.total - p.done) / rate)) : 0;
  return `${verb} ${p.done}/${p.total} records (${rate} records/s, ETA ${eta}s)`;
}

/** Applies the staged records in replay order, chunk by chunk, each chunk one projector transaction. */
async function applyInReplayOrder(staging: ReplayStaging, projector: ProfileProjector, total: number, out?: NodeJS.WritableStream): Promise<void> {
  const startedAt = Date.now();
  let sequence = 0;
  let lastReport = 0;
  for await (const chunk of staging.inOrder(APPLY_CHUNK)) {
    const records: LogRecord[] = chunk.map((r) => ({
      topic: PROFILE_UPSERTS_TOPIC,
      partition: REPLAY_ORDER_PARTITION,
      offset: sequence++,
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestamp: EPOCH,
      tombstone: r.tombstone || undefined,
      origin: { partition: r.partition, offset: r.offset },
    }));
    await projector.handleBatch({ topic: PROFILE_UPSERTS_TOPIC, partition: REPLAY_ORDER_PARTITION, records, highWatermark: total });
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
async function applyStaged(infra: Infrastructure, staging: ReplayStaging, group: string, total: number, out?: NodeJS.WritableStream): Promise<void> {
  const dataSource = infra.database.dataSource;
  const projectorWith = (writeBehind: boolean) =>
    new ProfileProjector(dataSource, infra.eventLog, infra.tenants, logPort(infra.logger), group, { residentGraph: true, writeBehind });
  try {
    const projector = projectorWith(true);
    await applyInReplayOrder(staging, projector, total, out);
    await projector.finishReplay();
  } catch (error) {
    if (!(error instanceof WriteBehindLostError)) throw error;
    out?.write(`${error.message}; applying again, each batch saving its own rows\n`);
    await emptyProjections(dataSource, group);
    await applyInReplayOrder(staging, projectorWith(false), total, out);
  }
}

/**
 * Rebuilds every projection from offset 0 of the event store. Once this process owns all partitions
 * of the worker's group, the projections and the group's checkpoints are truncated in one transaction
 * (stamped with this version's RULES_VERSION); the log up to the end offsets seen at the start is read
 * (ReplayStaging: sorted in memory, or in replay_records when it does not fit) and applied through the
 * worker's projector in record-id order (replaySortKey), the graph written behind (applyStaged); then the
 * group's checkpoints are set to those end offsets, so a worker continues with what came after.
 */
export async function replayProjections(infra: Infrastructure, options: { out?: NodeJS.WritableStream; group?: string; assignmentTimeoutMs?: number; memoryBudgetBytes?: number } = {}): Promise<DrainProgress> {
  const group = options.group ?? PROFILE_PROJECTOR_GROUP;
  const dataSource = infra.database.dataSource;
  const lease = await acquireReplayLease(dataSource);
  const staging = new ReplayStaging(dataSource, options.memoryBudgetBytes);
  const startedAt = Date.now();
  try {
    const staged = await drainTopic(infra.eventLog, {
      groupId: group,
      topic: PROFILE_UPSERTS_TOPIC,
      fromZero: true,
      assignmentTimeoutMs: options.assignmentTimeoutMs,
      beforeFirstBatch: () => emptyProjections(dataSource, group, 'replay_records'),
      handleBatch: (batch) => staging.add(batch.records),
      onProgress: (p) => options.out?.write(`${formatProgress('read', p)}\n`),
    });
    options.out?.write(`read ${staged.done} records; ${staging.describe()}\n`);
    await applyStaged(infra, staging, group, staged.done, options.out);
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
