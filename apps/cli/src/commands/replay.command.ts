import { PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { Infrastructure, logPort } from '@tessera/runtime';
import { RULES_VERSION } from '@tessera/identity';
import { acquireReplayLease, ProjectionRulesRepository } from '@tessera/store';
import { PROFILE_PROJECTOR_GROUP, ProfileProjector } from '@tessera/profile-projection';
import { drainTopic, DrainProgress } from './drain-topic';

function formatProgress(p: DrainProgress): string {
  const rate = p.elapsedMs > 0 ? Math.round((p.done * 1000) / p.elapsedMs) : 0;
  const eta = rate > 0 ? Math.max(0, Math.round((p.total - p.done) / rate)) : 0;
  return `replayed ${p.done}/${p.total} records (${rate} records/s, ETA ${eta}s)`;
}

/**
 * Rebuilds every profile projection from offset 0 of the event store: once this process owns all
 * partitions of the worker's group, projections and the group's checkpoints are truncated in one
 * transaction (stamped with this version's RULES_VERSION) and the log is re-consumed through the same
 * projector the worker runs.
 */
export async function replayProjections(infra: Infrastructure, options: { out?: NodeJS.WritableStream; group?: string; assignmentTimeoutMs?: number } = {}): Promise<DrainProgress> {
  const group = options.group ?? PROFILE_PROJECTOR_GROUP;
  const projector = new ProfileProjector(infra.database.dataSource, infra.eventLog, infra.tenants, logPort(infra.logger), group);
  const lease = await acquireReplayLease(infra.database.dataSource);
  const result = await drainTopic(infra.eventLog, {
    groupId: group,
    topic: PROFILE_UPSERTS_TOPIC,
    fromZero: true,
    assignmentTimeoutMs: options.assignmentTimeoutMs,
    beforeFirstBatch: async () => {
      await infra.database.dataSource.transaction(async (m) => {
        await m.query('TRUNCATE profiles, identifiers, identity_warnings');
        await m.query('DELETE FROM consumer_offsets WHERE consumer_group = $1', [group]);
        // From here on everything is projected under this version's rules (a crash mid-replay included).
        await new ProjectionRulesRepository(m).write(RULES_VERSION);
      });
    },
    handleBatch: (batch) => projector.handleBatch(batch),
    onProgress: (p) => options.out?.write(`${formatProgress(p)}\n`),
  }).finally(() => lease.release());
  options.out?.write(`replay done: ${result.done} records in ${(result.elapsedMs / 1000).toFixed(1)}s\n`);
  return result;
}
