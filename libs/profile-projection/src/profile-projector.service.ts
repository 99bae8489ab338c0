import { DataSource } from 'typeorm';
import { DLQ_HEADER, parseProfileUpsertRecord, PROFILE_UPSERTS_DLQ_TOPIC, ProfileUpsertRecord } from '@tessera/contracts';
import { EventLog, LogRecord, RecordBatch } from '@tessera/event-log';
import { IdentifierRules, IdentityGraph, preloadKeys, ProfileUpsert } from '@tessera/identity';
import {
  GraphChanges,
  isConnectionError,
  isRetriableTransactionError,
  ProfileGraphRepository,
  runInTransaction,
  TenantIdentifierKey,
  TenantProfileKey,
  TenantRepository,
} from '@tessera/store';

export const PROFILE_PROJECTOR_GROUP = 'tessera.profile-projector';

export interface ProjectorLogger {
  info(msg: string, extra?: Record<string, unknown>): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
  error(msg: string, extra?: Record<string, unknown>): void;
}

interface Decoded {
  log: LogRecord;
  record: ProfileUpsertRecord;
  ts: number;
}

interface Poison {
  log: LogRecord;
  error: string;
}

export interface ProjectionStats {
  records: number;
  batches: number;
  deadLettered: number;
  lastBatchMs: number;
}

function toUpsert(d: Decoded): ProfileUpsert {
  return { recordId: d.record.id, ts: d.ts, attributes: d.record.attributes };
}

/**
 * Applies profile upserts to the projections (DESIGN §5, §6): a batch of one partition is resolved
 * in memory against a slice of the identity graph loaded in one round trip, written back in one
 * statement with the consumer checkpoint, inside one transaction. Records at or below the stored
 * checkpoint are skipped ("already applied" is success). A record that cannot be applied is
 * isolated by bisection and dead-lettered; a database outage is thrown so the log redelivers.
 */
export class ProfileProjector {
  readonly stats: ProjectionStats = { records: 0, batches: 0, deadLettered: 0, lastBatchMs: 0 };

  constructor(
    private readonly dataSource: DataSource,
    private readonly eventLog: EventLog,
    private readonly tenants: TenantRepository,
    private readonly logger: ProjectorLogger,
    readonly consumerGroup: string = PROFILE_PROJECTOR_GROUP,
  ) {}

  async startOffset(topic: string, partition: number): Promise<number | undefined> {
    const rows: Array<{ next_offset: string }> = await this.dataSource.query(
      `SELECT next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2 AND partition = $3`,
      [this.consumerGroup, topic, partition],
    );
    return rows.length ? Number(rows[0].next_offset) : undefined;
  }

  async handleBatch(batch: RecordBatch): Promise<void> {
    const started = Date.now();
    const decoded: Decoded[] = [];
    const poison: Poison[] = [];
    for (const log of batch.records) {
      const parsed = parseProfileUpsertRecord(log.value);
      if (parsed.ok) decoded.push({ log, record: parsed.record, ts: Date.parse(parsed.record.ts) });
      else poison.push({ log, error: parsed.error });
    }
    await this.applyIsolating(batch, batch.records, decoded, poison);
    this.stats.batches++;
    this.stats.records += batch.records.length;
    this.stats.lastBatchMs = Date.now() - started;
  }

  /** Applies a run of records; on a non-retriable failure splits it to find and dead-letter the culprit. */
  private async applyIsolating(batch: RecordBatch, range: LogRecord[], decoded: Decoded[], poison: Poison[]): Promise<void> {
    try {
      await this.applyRange(batch, range, decoded, poison);
    } catch (error) {
      if (isConnectionError(error) || isRetriableTransactionError(error)) throw error;
      if (range.length === 1) {
        const message = error instanceof Error ? error.message : String(error);
        this.logger.warn('profile upsert cannot be applied; dead-lettering it', { offset: range[0].offset, error: message });
        await this.applyRange(batch, range, [], [{ log: range[0], error: message }]);
        return;
      }
      const half = Math.ceil(range.length / 2);
      for (const part of [range.slice(0, half), range.slice(half)]) {
        const offsets = new Set(part.map((r) => r.offset));
        await this.applyIsolating(
          batch,
          part,
          decoded.filter((d) => offsets.has(d.log.offset)),
          poison.filter((p) => offsets.has(p.log.offset)),
        );
      }
    }
  }

  private async applyRange(batch: RecordBatch, range: LogRecord[], decoded: Decoded[], poison: Poison[]): Promise<void> {
    const nextOffset = range[range.length - 1].offset + 1;
    await runInTransaction(this.dataSource, async (manager) => {
      // The projection and its checkpoint commit together and the log is durable: if a crash loses
      // this commit, the worker simply re-applies from the older checkpoint. No need to wait for fsync.
      await manager.query('SET LOCAL synchronous_commit = off');
      const repo = new ProfileGraphRepository(manager);
      const stored = await repo.checkpoint(this.consumerGroup, batch.topic, batch.partition);
      const from = stored ?? -1;
      if (stored !== undefined && stored >= nextOffset) return; // already applied
      const todo = decoded.filter((d) => d.log.offset >= from);
      const deadLetters = poison.filter((p) => p.log.offset >= from);

      // Identifier keys of the whole range, for one lock pass and one load.
      const rulesByTenant = new Map<string, IdentifierRules>();
      for (const d of todo) {
        if (!rulesByTenant.has(d.record.tenant)) rulesByTenant.set(d.record.tenant, await this.tenants.identifierRules(d.record.tenant));
      }
      const keys: TenantIdentifierKey[] = [];
      const profileIds: TenantProfileKey[] = [];
      for (const [tenant, rules] of rulesByTenant) {
        const upserts = todo.filter((d) => d.record.tenant === tenant).map((d) => toUpsert(d));
        const preload = preloadKeys(upserts, rules);
        for (const ref of preload.identifiers) keys.push({ tenant, type: ref.type, value: ref.value });
        for (const id of preload.profileIds) profileIds.push({ tenant, id });
      }
      keys.sort((a, b) => (a.tenant + a.type + a.value < b.tenant + b.type + b.value ? -1 : 1));
      const slice = await repo.lockAndLoad(keys, profileIds);

      const graphs = new Map<string, IdentityGraph>();
      for (const [tenant, rules] of rulesByTenant) {
        graphs.set(
          tenant,
          new IdentityGraph(rules, {
            profiles: slice.profiles.filter((p) => p.tenant === tenant),
            identifiers: slice.identifiers.filter((i) => i.tenant === tenant),
          }),
        );
      }
      const changes: GraphChanges = {
        profiles: [],
        identifiers: [],
        merges: [],
        warnings: [],
        checkpoint: { consumerGroup: this.consumerGroup, topic: batch.topic, partition: batch.partition, nextOffset },
      };
      for (const d of todo) {
        const outcome = graphs.get(d.record.tenant)!.apply(toUpsert(d));
        for (const message of outcome.warnings) {
          changes.warnings.push({ tenant: d.record.tenant, recordId: d.record.id, profileId: outcome.profileId, message });
        }
      }
      for (const [tenant, graph] of graphs) {
        const dirty = graph.dirty();
        for (const p of dirty.profiles) {
          changes.profiles.push({ ...p, tenant });
          if (p.mergedInto) changes.merges.push({ tenant, loser: p.id, survivor: p.mergedInto });
        }
        for (const i of dirty.identifiers) changes.identifiers.push({ ...i, tenant });
      }
      // Dead letters are stored before the checkpoint moves past them.
      if (deadLetters.length) await this.deadLetter(batch, deadLetters);
      await repo.save(changes);
    });
  }

  private async deadLetter(batch: RecordBatch, poison: Poison[]): Promise<void> {
    await this.eventLog.produce(
      PROFILE_UPSERTS_DLQ_TOPIC,
      poison.map((p) => ({
        key: p.log.key ?? '',
        value: p.log.value,
        headers: {
          ...p.log.headers,
          [DLQ_HEADER.error]: p.error.slice(0, 1000),
          [DLQ_HEADER.sourceTopic]: batch.topic,
          [DLQ_HEADER.sourcePartition]: String(batch.partition),
          [DLQ_HEADER.sourceOffset]: String(p.log.offset),
        },
      })),
    );
    this.stats.deadLettered += poison.length;
  }
}

