import { DataSource, QueryRunner } from 'typeorm';
import { DLQ_HEADER, PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { EventLog, LogRecord, RedactionTarget, RedactionUnavailableError } from '@tessera/event-log';
import type { IdentifierRules } from '@tessera/identity';
import { errorWithoutValues, IdentifierHasher, replayRunning, TenantRepository } from '@tessera/store';
import { ErasedIdentifiers, namesErasedPerson, parseValue, redactedUnreadable, redactedValue } from './log-redaction';

export interface ErasureLogLogger {
  info(msg: string, extra?: Record<string, unknown>): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
  error(msg: string, extra?: Record<string, unknown>): void;
}

export interface ErasureLogOptions {
  /** Pause between rounds. Default 3 s. */
  intervalMs?: number;
  /**
   * A request is taken this long after it was received: a record accepted just before the erasure may
   * still be on its way into the log (produce is bounded by the ingest's produce timeout). Default 15 s.
   */
  settleMs?: number;
  /** Requests per round (one scan of the log serves them all). Default 100. */
  maxRequests?: number;
  /** The projector's consumer group: DLQ copies are looked for once it applied every scanned record. */
  projectorGroup?: string;
  /** How long a round waits for the projector to pass the scanned offsets before leaving it to the next. Default 30 s. */
  projectorWaitMs?: number;
  /** Records redacted per log call. Default 500. */
  redactChunk?: number;
  /** The event store and its DLQ (tests use their own). Default PROFILE_UPSERTS_TOPIC and PROFILE_UPSERTS_DLQ_TOPIC. */
  topic?: string;
  dlqTopic?: string;
}

export interface ErasureLogRound {
  requests: string[];
  scanned: { log: number; dlq: number; outbox: number };
  redacted: { log: number; dlq: number; outbox: number };
  ms: number;
  /** Records read per second over the whole round. */
  recordsPerSecond: number;
}

/** `pg_try_advisory_lock` key: one completer at a time across processes on this database. */
const LOCK_SQL = `SELECT pg_try_advisory_lock(hashtextextended('tessera.erasure-log', 0)) AS locked`;
const UNLOCK_SQL = `SELECT pg_advisory_unlock(hashtextextended('tessera.erasure-log', 0))`;

class StoppedError extends Error {
  constructor() {
    super('erasure completer stopped');
  }
}

type Target = RedactionTarget & { recordId: string };

/** The redaction of one record, or undefined when it is not the erased person's (or is redacted already). */
function targetOf(record: LogRecord, belongs: (value: Record<string, unknown>) => boolean, isCopy: (record: LogRecord) => boolean): Target | undefined {
  const value = parseValue(record.value);
  if (value?.redacted === true) return undefined;
  if (!(isCopy(record) || (value !== undefined && belongs(value)))) return undefined;
  const recordId = value && typeof value.id === 'string' ? value.id : (record.key ?? '');
  const headers = { ...record.headers };
  // A dead letter's error text may quote the record's values.
  if (headers[DLQ_HEADER.error] !== undefined) headers[DLQ_HEADER.error] = errorWithoutValues(headers[DLQ_HEADER.error]!);
  return {
    partition: record.partition,
    offset: record.offset,
    key: record.key,
    value: value ? redactedValue(value) : redactedUnreadable(record.key),
    headers,
    // Records written before keys were record ids are keyed by a person's identifier.
    newKey: recordId && record.key !== recordId ? recordId : undefined,
    recordId,
  };
}

/** Targets of one scan, by position; a later tombstone (Kafka) drops the earlier records with its key. */
class FoundTargets {
  private readonly byPosition = new Map<string, Target>();
  private readonly byKey = new Map<string, string[]>();

  add(target: Target): void {
    const position = `${target.partition}@${target.offset}`;
    this.byPosition.set(position, target);
    if (target.key === null) return;
    const key = `${target.partition}\u0000${target.key}`;
    this.byKey.set(key, [...(this.byKey.get(key) ?? []), position]);
  }

  deletedByTombstone(record: LogRecord): void {
    const key = `${record.partition}\u0000${record.key}`;
    for (const position of this.byKey.get(key) ?? []) this.byPosition.delete(position);
    this.byKey.delete(key);
  }

  all(): Target[] {
    return [...this.byPosition.values()];
  }
}

interface PendingRequest {
  id: string;
  tenant: string;
}

/**
 * Decides COMPLETED for erasure requests (DESIGN §11): once the projector applied an erasure (projections
 * cleaned, `erased_identifiers` written, `applied_at` set), this loop finds every stored record of the
 * erased person — the event store, the dead-letter outbox and the DLQ — and makes it unreadable through
 * the log's `redact` (Postgres log: rewritten in place; Kafka: tombstones that compaction applies),
 * then sets `completed_at`. Pending requests share one scan, so the cost of reading the log is paid
 * once per round, not per request.
 */
export class ErasureLogCompleter {
  private readonly intervalMs: number;
  private readonly settleMs: number;
  private readonly maxRequests: number;
  private readonly projectorGroup: string;
  private readonly projectorWaitMs: number;
  private readonly redactChunk: number;
  private readonly topic: string;
  private readonly dlqTopic: string;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopping = false;
  private hasher?: IdentifierHasher;
  private lastUnavailable = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly eventLog: EventLog,
    private readonly tenants: TenantRepository,
    private readonly logger: ErasureLogLogger,
    options: ErasureLogOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 3_000;
    this.settleMs = options.settleMs ?? 15_000;
    this.maxRequests = options.maxRequests ?? 100;
    this.projectorGroup = options.projectorGroup ?? 'tessera.profile-projector';
    this.projectorWaitMs = options.projectorWaitMs ?? 30_000;
    this.redactChunk = options.redactChunk ?? 500;
    this.topic = options.topic ?? PROFILE_UPSERTS_TOPIC;
    this.dlqTopic = options.dlqTopic ?? PROFILE_UPSERTS_DLQ_TOPIC;
  }

  /** Starts the background loop (first round after one interval). */
  start(): void {
    this.stopping = false;
    this.schedule();
  }

  /** Ends the loop; a round in progress stops at its next batch (nothing is half-completed: completed_at is set last). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  private schedule(): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.runOnce()
        .catch((error) => {
          if (error instanceof StoppedError) return;
          if (error instanceof RedactionUnavailableError) {
            // Every round would say it again: once every 5 minutes is enough.
            if (Date.now() - this.lastUnavailable > 300_000) {
              this.lastUnavailable = Date.now();
              this.logger.error('erasure cannot reach the log: requests stay IN_PROGRESS', { error: error.message });
            }
            return;
          }
          this.logger.warn('erasure completion round failed; retried next round', { error: error instanceof Error ? error.message : String(error) });
        })
        .finally(() => {
          this.running = null;
          this.schedule();
        });
    }, this.intervalMs);
    this.timer.unref?.();
  }

  /**
   * One round: under the advisory lock, take the pending requests, redact, complete. Returns what it did,
   * or null when there was nothing to do (or another process holds the lock).
   */
  async runOnce(): Promise<ErasureLogRound | null> {
    // The common case, nothing pending, costs one indexed query and no lock session.
    const [{ pending }] = await this.dataSource.query(
      `SELECT EXISTS (SELECT 1 FROM erasure_requests WHERE completed_at IS NULL AND applied_at IS NOT NULL) AS pending`,
    );
    if (!pending) return null;
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = await runner.query(LOCK_SQL);
      if (!locked) return null;
      try {
        return await this.round(runner);
      } finally {
        await runner.query(UNLOCK_SQL);
      }
    } finally {
      await runner.release();
    }
  }

  private async round(runner: QueryRunner): Promise<ErasureLogRound | null> {
    const started = Date.now();
    const requests: PendingRequest[] = await runner.query(
      `SELECT id, tenant FROM erasure_requests
       WHERE applied_at IS NOT NULL AND completed_at IS NULL AND requested_at <= now() - make_interval(secs => $1::float8 / 1000)
       ORDER BY requested_at LIMIT $2`,
      [this.settleMs, this.maxRequests],
    );
    if (requests.length === 0) return null;
    const ids = requests.map((r) => r.id);
    // A replay holds copies of the log's records (in memory, or staged in replay_records) until it ends;
    // they were read before this round's redaction. COMPLETED waits until the replay is over and its stage empty.
    const [{ staged }] = await runner.query(`SELECT to_regclass('replay_records') IS NOT NULL AND EXISTS (SELECT 1 FROM replay_records) AS staged`).catch(
      () => [{ staged: false }],
    );
    if (staged || (await replayRunning(runner))) {
      this.logger.info('a replay is running or staging log records; erasure completes after it', { requests: ids.length });
      return null;
    }
    const erased = await this.erasedIdentifiers(runner, ids);
    this.hasher ??= await IdentifierHasher.load(this.dataSource);
    const hasher = this.hasher;
    const rules = new Map<string, IdentifierRules>();
    for (const tenant of erased.tenants()) rules.set(tenant, await this.tenants.identifierRules(tenant));
    const belongs = (value: Record<string, unknown>) => {
      const tenantRules = typeof value.tenant === 'string' ? rules.get(value.tenant) : undefined;
      return tenantRules !== undefined && namesErasedPerson(value, erased, tenantRules, (t, type, v) => hasher.hash(t, type, v));
    };

    // 1. Where the log ends now, and the projector past it: every record up to there is applied, so a
    //    dead-letter copy of one exists already (written with the checkpoint). Waiting costs no scan.
    const until = await this.eventLog.endOffsets(this.topic);
    if (!(await this.projectorPassed(until))) {
      this.logger.info('erasure waits for the projector to reach the end of the log', { requests: ids.length });
      return null;
    }

    // 2. The event store up to there: every record of the person received before the erasure.
    const log = await this.findTargets(this.topic, belongs, () => false, until);
    await this.redact(this.topic, log.targets);
    const redactedIds = new Set(log.targets.map((t) => t.recordId));
    const redactedSources = new Set(log.targets.map((t) => `${t.partition}@${t.offset}`));
    const isCopy = (r: LogRecord) =>
      (r.key !== null && redactedIds.has(r.key)) ||
      (r.headers[DLQ_HEADER.sourceTopic] === this.topic && redactedSources.has(`${r.headers[DLQ_HEADER.sourcePartition]}@${r.headers[DLQ_HEADER.sourceOffset]}`));
    const outbox = await this.redactOutbox(belongs, redactedIds);
    await this.scrubDeadLetters(log.targets);

    // 3. The DLQ topic (after the outbox: a copy published meanwhile is in the log by now).
    const dlq = await this.findTargets(this.dlqTopic, belongs, isCopy);
    await this.redact(this.dlqTopic, dlq.targets);

    // 4. Done: the status route answers COMPLETED from here on.
    this.assertRunning();
    await runner.query(`UPDATE erasure_requests SET completed_at = now() WHERE id = ANY($1::text[]) AND completed_at IS NULL`, [ids]);
    const ms = Date.now() - started;
    const scannedTotal = log.scanned + dlq.scanned + outbox.scanned;
    const result: ErasureLogRound = {
      requests: ids,
      scanned: { log: log.scanned, dlq: dlq.scanned, outbox: outbox.scanned },
      redacted: { log: log.targets.length, dlq: dlq.targets.length, outbox: outbox.redacted },
      ms,
      recordsPerSecond: Math.round((scannedTotal * 1000) / Math.max(1, ms)),
    };
    this.logger.info('erasure completed in the log', { engine: this.eventLog.engine, ...result, requests: ids.length });
    return result;
  }

  /** Hashes of every identifier of the requests' people, plus each request's own identifier, with their cut-offs. */
  private async erasedIdentifiers(runner: QueryRunner, ids: string[]): Promise<ErasedIdentifiers> {
    const rows: Array<{ tenant: string; type: string; hash: string; cutoff: Date }> = await runner.query(
      `SELECT tenant, type, hash, erased_at AS cutoff FROM erased_identifiers WHERE request_id = ANY($1::text[])
       UNION ALL
       SELECT tenant, identifier_type, identifier_hash, requested_at FROM erasure_requests WHERE id = ANY($1::text[])`,
      [ids],
    );
    const erased = new ErasedIdentifiers();
    for (const r of rows) erased.add(r.tenant, r.type, r.hash, new Date(r.cutoff).getTime());
    return erased;
  }

  /**
   * Scans a topic for records to redact. On Kafka a tombstone later in the partition means the records
   * with its key are deleted already (an earlier round): no second tombstone.
   */
  private async findTargets(
    topic: string,
    belongs: (value: Record<string, unknown>) => boolean,
    isCopy: (record: LogRecord) => boolean,
    until?: Array<{ partition: number; offset: number }>,
  ): Promise<{ targets: Target[]; scanned: number }> {
    const found = new FoundTargets();
    const result = await this.eventLog.scan(
      topic,
      async (batch) => {
        this.assertRunning();
        for (const record of batch.records) {
          if (record.tombstone) found.deletedByTombstone(record);
          else {
            const target = targetOf(record, belongs, isCopy);
            if (target) found.add(target);
          }
        }
      },
      { maxBatchRecords: 5000, until },
    );
    return { targets: found.all(), scanned: result.records };
  }

  private async redact(topic: string, targets: RedactionTarget[]): Promise<void> {
    for (let i = 0; i < targets.length; i += this.redactChunk) {
      this.assertRunning();
      await this.eventLog.redact(topic, targets.slice(i, i + this.redactChunk));
    }
  }

  /** Has the projector's checkpoint reached `until` on every partition (waiting up to projectorWaitMs)? A round that must wait scans nothing. */
  private async projectorPassed(until: Array<{ partition: number; offset: number }>): Promise<boolean> {
    const deadline = Date.now() + this.projectorWaitMs;
    for (;;) {
      this.assertRunning();
      const rows: Array<{ partition: number; next_offset: string }> = await this.dataSource.query(
        `SELECT partition, next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2`,
        [this.projectorGroup, this.topic],
      );
      const at = new Map(rows.map((r) => [Number(r.partition), Number(r.next_offset)]));
      if (until.every((u) => u.offset === 0 || (at.get(u.partition) ?? 0) >= u.offset)) return true;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /**
   * Dead letters not yet published to Kafka: redacted where they wait. Rows a publisher holds are waited
   * for (FOR UPDATE); once published they are gone from here and in the DLQ topic, scanned next.
   */
  private async redactOutbox(belongs: (value: Record<string, unknown>) => boolean, redactedIds: Set<string>): Promise<{ scanned: number; redacted: number }> {
    return this.dataSource.transaction(async (manager) => {
      const rows: Array<{ id: string; key: string; value: Buffer; headers: Record<string, string> }> = await manager.query(
        `SELECT id, key, value, headers FROM dead_letter_outbox WHERE topic = $1 ORDER BY id FOR UPDATE`,
        [this.dlqTopic],
      );
      const ids: string[] = [];
      const values: string[] = [];
      const headers: string[] = [];
      for (const row of rows) {
        const value = parseValue(row.value);
        if (value?.redacted === true) continue;
        if (!(redactedIds.has(row.key) || (value && belongs(value)))) continue;
        ids.push(row.id);
        values.push(value ? redactedValue(value) : redactedUnreadable(row.key));
        const h = { ...row.headers };
        if (h[DLQ_HEADER.error] !== undefined) h[DLQ_HEADER.error] = errorWithoutValues(h[DLQ_HEADER.error]!);
        headers.push(JSON.stringify(h));
      }
      if (ids.length) {
        await manager.query(
          `UPDATE dead_letter_outbox o SET value = convert_to(t.value, 'UTF8'), headers = t.headers::jsonb
           FROM unnest($1::bigint[], $2::text[], $3::text[]) AS t(id, value, headers) WHERE o.id = t.id`,
          [ids, values, headers],
        );
      }
      return { scanned: rows.length, redacted: ids.length };
    });
  }

  /**
   * dead_letters keeps no record values, but its error text is the parser's (quoted values are removed
   * on insert, an unquoted one might not be): for a redacted record it says only that it was erased.
   */
  private async scrubDeadLetters(targets: Target[]): Promise<void> {
    if (targets.length === 0) return;
    await this.dataSource.query(
      `UPDATE dead_letters d SET error = 'the record was erased (DESIGN §11): its values and this error text were removed', updated_at = now()
       FROM unnest($2::int[], $3::bigint[]) AS t(partition, "offset")
       WHERE d.source_topic = $1 AND d.source_partition = t.partition AND d.source_offset = t."offset"`,
      [this.topic, targets.map((t) => t.partition), targets.map((t) => String(t.offset))],
    );
  }

  private assertRunning(): void {
    if (this.stopping) throw new StoppedError();
  }
}
