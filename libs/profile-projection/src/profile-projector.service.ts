import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import {
  ConsentRecord,
  decodeRecord,
  DecodedRecord,
  DLQ_HEADER,
  ErasureRecord,
  eventIdempotenceId,
  identifierRefsOf,
  PROFILE_UPSERTS_DLQ_TOPIC,
  ProfileChangeRecord,
  RecordEnvelope,
} from '@tessera/contracts';
import { EventLog, LogRecord, PostgresEventLog, RecordBatch } from '@tessera/event-log';
import { SCHEMA_HEADER } from '@tessera/event-log/transport/record-runs';
import { IdentifierRules, IdentityGraph, preloadKeys, profileIdFor, ProfileUpsert, upsertIdentifiers } from '@tessera/identity';
import {
  applyConsents,
  applyErasure,
  classifyError,
  erasedKey,
  erasedSince,
  tenantsWithErasures,
  IdentifierHasher,
  DEAD_LETTER_ID_HEADER,
  DeadLetterInput,
  DeadLetterOutbox,
  DeadLettersRepository,
  emptyGraphChanges,
  errorMessage,
  errorWithoutValues,
  isDeadLetterId,
  GraphChanges,
  OutboxRecord,
  PreparedSave,
  ProfileGraphRepository,
  ProjectorHealth,
  runInTransaction,
  TenantIdentifierKey,
  TenantProfileKey,
  TenantRepository,
} from '@tessera/store';
import { preloadInputOf, ProfileChangeApplier } from './profile-changes/apply-profile-change';
import { ResidentGraphs } from './resident-graphs';

export const PROFILE_PROJECTOR_GROUP = 'tessera.profile-projector';

export interface ProjectorLogger {
  info(msg: string, extra?: Record<string, unknown>): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
  error(msg: string, extra?: Record<string, unknown>): void;
}

export interface ProjectorOptions {
  /** Readiness reads it (`health.check()`); one instance may be shared by several projectors. */
  health?: ProjectorHealth;
  /** Failed attempts of a batch (errors other than connection loss) before readiness reports the partition. Default 5. */
  surfaceAfterAttempts?: number;
  /**
   * Where dead letters are written. 'log-transaction': appended to the Postgres log inside the
   * checkpoint's transaction (same database). 'outbox': stored in that transaction and published after
   * commit (a log outside PostgreSQL: Kafka). Default: by the log's engine.
   */
  deadLetters?: 'log-transaction' | 'outbox';
  /** TESSERA_IDEMPOTENCY_WINDOW: how long an applied `data.idempotence_id` suppresses repeats. Default 24 h. */
  idempotencyWindowMs?: number;
  /**
   * Replay only: the projection was empty when applying began and nothing else writes it (the replay
   * command holds the replay lease and every partition of the group). The identity graph then stays in
   * memory across batches — no identifier locks, no graph loads (ResidentGraphs). It is dropped for good,
   * back to per-batch loads of what is committed, after an erasure, a failed or retried transaction,
   * changed identifier rules, or once the heap grows past `residentHeapBudgetBytes`.
   */
  residentGraph?: boolean;
  /** Default defaultResidentHeapBudget(): 2.5 GiB, or 60 % of the heap limit when smaller. */
  residentHeapBudgetBytes?: number;
  /**
   * Replay only, with `residentGraph`: profile and identifier rows are written behind — kept in the graph
   * in memory and saved once, by `finishReplay()`, or before an erasure or the end of resident mode
   * (batches still save their events, warnings, outcomes and checkpoint). Each row is then written
   * once in its final state instead of at every change. A batch that fails or is retried would lose what
   * only memory holds, so it throws WriteBehindLostError instead and the projector refuses further
   * batches: the replay starts over without write-behind.
   */
  writeBehind?: boolean;
  /** Profiles per statement of a write-behind flush. Default FLUSH_PROFILES. */
  flushProfiles?: number;
}

/**
 * A write-behind replay lost rows only memory held (a transaction failed or was retried). The state it
 * committed is incomplete: the replay must start over from an empty projection.
 */
export class WriteBehindLostError extends Error {
  override readonly name = 'WriteBehindLostError';

  constructor(readonly reason: string, options?: { cause?: unknown }) {
    super(`replay: the identity graph held rows not yet saved when ${reason}; the projection must be rebuilt from empty`, options);
  }
}

export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * A batch starts above the stored checkpoint: records between them are missing from the log (it was
 * recreated or truncated). Applying would skip them silently, so the partition stops here.
 */
export class CheckpointGapError extends Error {
  override readonly name = 'CheckpointGapError';

  constructor(
    readonly consumerGroup: string,
    readonly topic: string,
    readonly partition: number,
    readonly expected: number,
    readonly got: number,
  ) {
    super(
      `checkpoint gap on ${topic}/${partition} (group ${consumerGroup}): the next offset to apply is ${expected} but the log delivered ${got} first; ` +
        `records ${expected}..${got - 1} are missing (log recreated or truncated?) — the partition is held until they are back or the checkpoint is moved deliberately`,
    );
  }
}

interface Decoded {
  log: LogRecord;
  decoded: DecodedRecord;
  /** Undefined for a tombstone (an erased record on Kafka). */
  envelope: RecordEnvelope | undefined;
  /** Event time, epoch ms. */
  ts: number;
  /** When ingest received it, epoch ms. */
  receivedAt: number;
  /** What the identity graph applies for it (stepOf), once asked; null: nothing. */
  step?: GraphStep | null;
}

interface Poison {
  log: LogRecord;
  error: string;
}

export interface ProjectionStats {
  records: number;
  batches: number;
  deadLettered: number;
  /** Events dropped because their idempotence_id was applied within the window. */
  repeatedEvents: number;
  /** Records dropped because they were received before one of their identifiers was erased. */
  droppedErased: number;
  lastBatchMs: number;
}

/** Dead letter ids of re-published copies among records that applied. */
function retriedIds(applied: Decoded[]): string[] {
  return applied.flatMap((d) => (isDeadLetterId(d.log.headers[DEAD_LETTER_ID_HEADER]) ? [d.log.headers[DEAD_LETTER_ID_HEADER]] : []));
}

/** What the identity graph applies for a record: an upsert's attributes, an event's identifiers (§10). */
function graphInput(d: Decoded): ProfileUpsert | undefined {
  switch (d.decoded.kind) {
    case 'profile-upsert':
      return { recordId: d.decoded.record.id, ts: d.ts, attributes: d.decoded.record.attributes };
    case 'event':
      // Identifiers resolve exactly like an upsert's; the only attributes they write are their own last-seen values.
      return { recordId: d.decoded.record.id, ts: d.ts, attributes: d.decoded.record.identifiers };
    default:
      return undefined;
  }
}

/** One record the identity graph applies, in log order: an upsert or event, or a native write (§12). */
type GraphStep =
  | { d: Decoded; tenant: string; upsert: ProfileUpsert; change?: undefined }
  | { d: Decoded; tenant: string; change: ProfileChangeRecord; upsert: ProfileUpsert };

function graphStep(d: Decoded): GraphStep | undefined {
  if (d.decoded.kind === 'profile-change') {
    // `upsert`: what the change needs pre-loaded (its identifiers, contact and named profile).
    return { d, tenant: d.decoded.record.tenant, change: d.decoded.record, upsert: preloadInputOf(d.decoded.record, d.ts) };
  }
  const upsert = graphInput(d);
  return upsert && { d, tenant: d.envelope!.tenant, upsert };
}

/** graphStep, made once per record: the identifiers extracted ahead (ProfileProjector.prepare) are cached on its upsert. */
function stepOf(d: Decoded): GraphStep | undefined {
  if (d.step === undefined) d.step = graphStep(d) ?? null;
  return d.step ?? undefined;
}

/** Records cut into segments that each end at an erasure (or the range's end). */
function segmentsAtErasures(todo: Decoded[]): Array<{ records: Decoded[]; erasure?: ErasureRecord }> {
  const segments: Array<{ records: Decoded[]; erasure?: ErasureRecord }> = [];
  let records: Decoded[] = [];
  for (const d of todo) {
    if (d.decoded.kind === 'erasure') {
      segments.push({ records, erasure: d.decoded.record });
      records = [];
    } else records.push(d);
  }
  if (records.length || segments.length === 0) segments.push({ records });
  return segments;
}

/** An event's `data.idempotence_id`, if it has one. */
function idempotenceIdOf(d: Decoded): string | undefined {
  return d.decoded.kind === 'event' ? (eventIdempotenceId(d.decoded.record) ?? undefined) : undefined;
}

/** The stored form of an applied event; none for other kinds or an event that reached no profile. */
function eventRowOf(d: Decoded, profileId: string | null): GraphChanges['events'][number] | undefined {
  if (d.decoded.kind !== 'event' || profileId === null) return undefined;
  const e = d.decoded.record;
  return { tenant: e.tenant, id: e.id, profileId, type: e.type, action: e.action, ts: d.ts, identifiers: e.identifiers, data: e.data };
}

/** One record decoded: ready to apply, or poison. */
function decodeOne(log: LogRecord): Decoded | Poison {
  const result = decodeRecord(log.value, log.headers[SCHEMA_HEADER]);
  if (!result.ok) return { log, error: result.error };
  const envelope = result.decoded.kind === 'tombstone' ? undefined : result.decoded.record;
  return { log, decoded: result.decoded, envelope, ts: envelope ? Date.parse(envelope.ts) : 0, receivedAt: envelope ? Date.parse(envelope.receivedAt) : 0 };
}

/** The records decoded, taking those `prepared` holds (ProfileProjector.prepare) from it. */
function decode(records: LogRecord[], prepared: WeakMap<LogRecord, Decoded | Poison>): { decoded: Decoded[]; poison: Poison[] } {
  const decoded: Decoded[] = [];
  const poison: Poison[] = [];
  for (const log of records) {
    const one = prepared.get(log) ?? decodeOne(log);
    prepared.delete(log);
    if ('error' in one) poison.push(one);
    else decoded.push(one);
  }
  return { decoded, poison };
}

/**
 * Records resolved per save statement: small enough that PostgreSQL writes one while the next is
 * resolved, large enough that a statement's fixed cost and rows written twice (a profile changed in two
 * statements of a batch) stay small.
 */
export const SAVE_STEPS = 500;

/** Records of a batch's first save statement: PostgreSQL, idle since the load, starts writing sooner. */
export const FIRST_SAVE_STEP = 100;

/** Records read ahead that are decoded in one turn of the event loop (ProfileProjector.prepare). */
export const AHEAD_SLICE = 200;

/** Profiles per statement of a write-behind flush (with twice as many identifiers). */
export const FLUSH_PROFILES = 5000;


/** One turn of the event loop: queued I/O (a statement waiting to be sent) goes out. */
const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A batch's save statements, one at a time on its connection (the driver does not pipeline): each is
 * sent once the one before it is done, and the first failure surfaces at the next send or at `done`.
 */
class SaveSequence {
  private last: Promise<void> = Promise.resolve();

  /** Sends `save` after the statement before it; returns once it is sent, not done. */
  async send(save: () => Promise<void>): Promise<void> {
    await this.last;
    this.last = save();
    // Handled at once: a statement failing while the next records are resolved is not an unhandled rejection.
    this.last.catch(() => undefined);
    // Let it reach PostgreSQL before the caller keeps this thread busy with the next records.
    await yieldToIo();
  }

  done(): Promise<void> {
    return this.last;
  }
}

/**
 * Statements one after the other on one connection, each prepared (serialised) while the one before runs.
 * `sent`: called once the last one is sent, before PostgreSQL has run them all.
 */
async function runInSequence(repo: ProfileGraphRepository, statements: Array<() => PreparedSave>, sent?: () => void): Promise<void> {
  const saves = new SaveSequence();
  for (const prepare of statements) {
    const prepared = prepare();
    await saves.send(() => repo.runSave(prepared));
  }
  sent?.();
  await saves.done();
}

/** Save statements in sequence (runInSequence). */
function saveInSequence(repo: ProfileGraphRepository, statements: GraphChanges[]): Promise<void> {
  return runInSequence(repo, statements.map((changes) => () => repo.prepareSave(changes)));
}

/** The rows the graphs changed since they were last taken, with the merges among them (`ordered`: IdentityGraph.takeDirtyRows). */
function takeDirtyRows(graphs: Map<string, IdentityGraph>, changes: GraphChanges, ordered = true): void {
  // Rows sharing the graph's maps: `save` serialises them before the graph changes again.
  for (const [tenant, graph] of graphs) {
    const dirty = graph.takeDirtyRows(tenant, ordered);
    for (const p of dirty.profiles) {
      changes.profiles.push(p);
      if (p.mergedInto) changes.merges.push({ tenant, loser: p.id, survivor: p.mergedInto });
    }
    for (const i of dirty.identifiers) changes.identifiers.push(i);
    for (const r of dirty.removed) changes.removedIdentifiers.push(r);
  }
}

/** A dead letter as logged and kept in dead_letters: where from and why, never the key or values. */
interface DeadLetterReport extends DeadLetterInput {
  state: 'new' | 'failed-again';
}

/** The dead-letter form of a record: original key, value and headers plus why, where from and its dead letter id. */
function deadLetterRecords(batch: RecordBatch, poison: Poison[], ids: string[]): OutboxRecord[] {
  return poison.map((p, i) => ({
    key: p.log.key ?? '',
    value: p.log.value,
    headers: {
      ...p.log.headers,
      [DLQ_HEADER.error]: p.error.slice(0, 1000),
      [DLQ_HEADER.sourceTopic]: batch.topic,
      [DLQ_HEADER.sourcePartition]: String(p.log.origin?.partition ?? batch.partition),
      [DLQ_HEADER.sourceOffset]: String(p.log.origin?.offset ?? p.log.offset),
      [DEAD_LETTER_ID_HEADER]: ids[i],
    },
  }));
}

/**
 * Applies profile upserts to the projections (DESIGN §5, §6): a batch of one partition is resolved
 * in memory against a slice of the identity graph loaded in one round trip, written back with the
 * consumer checkpoint in statements of SAVE_STEPS records, inside one transaction. Records at or below the stored
 * checkpoint are skipped ("already applied" is success). Errors are classified (store's
 * error-classification): only a data error isolates its record by bisection and dead-letters it, in
 * the transaction that moves the checkpoint past it; anything else is thrown so the log redelivers
 * the batch after a back-off, and readiness reports a partition that keeps failing.
 */
export class ProfileProjector {
  readonly stats: ProjectionStats = { records: 0, batches: 0, deadLettered: 0, repeatedEvents: 0, droppedErased: 0, lastBatchMs: 0 };
  readonly health: ProjectorHealth;
  private readonly surfaceAfterAttempts: number;
  private readonly idempotencyWindowMs: number;
  private readonly flushProfiles: number;
  private resident?: ResidentGraphs;
  /** A write-behind flush ran in the open transaction: until it commits, its rows exist nowhere else. */
  private flushInFlight = false;
  /** Set once a write-behind replay lost rows: every later batch is refused. */
  private lost?: WriteBehindLostError;
  private hasherLoad?: Promise<IdentifierHasher>;
  private readonly deadLetterMode: 'log-transaction' | 'outbox';
  private readonly outbox: DeadLetterOutbox;
  private outboxPending = false;
  /** Consecutive failed attempts per partition. */
  private readonly failures = new Map<string, number>();
  /** Records decoded ahead of their batch (prepare); weak: a batch never handled here leaves nothing behind. */
  private readonly prepared = new WeakMap<LogRecord, Decoded | Poison>();
  /** Records read ahead, not decoded yet: done a slice at a time while this thread waits for PostgreSQL. */
  private ahead: LogRecord[] = [];
  private aheadScheduled = false;
  /**
   * The identifier rules each tenant's latest batch used, and when they were read: records read ahead that
   * were received by then extract their identifiers with them (their batch will get the same rules).
   */
  private readonly recentRules = new Map<string, { rules: IdentifierRules; readAt: number }>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly eventLog: EventLog,
    private readonly tenants: TenantRepository,
    private readonly logger: ProjectorLogger,
    readonly consumerGroup: string = PROFILE_PROJECTOR_GROUP,
    options: ProjectorOptions = {},
  ) {
    this.health = options.health ?? new ProjectorHealth();
    this.surfaceAfterAttempts = options.surfaceAfterAttempts ?? 5;
    this.idempotencyWindowMs = options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS;
    this.flushProfiles = options.flushProfiles ?? FLUSH_PROFILES;
    this.resident = options.residentGraph ? new ResidentGraphs(options.residentHeapBudgetBytes, options.writeBehind === true) : undefined;
    this.deadLetterMode = options.deadLetters ?? (eventLog instanceof PostgresEventLog ? 'log-transaction' : 'outbox');
    this.outbox = new DeadLetterOutbox(dataSource);
    // Dead letters of a process that crashed between commit and publish are sent at the first assignment.
    this.outboxPending = this.deadLetterMode === 'outbox';
  }

  /**
   * Where a partition resumes: the database checkpoint, the only truth. No checkpoint → 0, the log's
   * beginning (never the group's committed offset: projections are rebuilt from the start).
   */
  async startOffset(topic: string, partition: number): Promise<number> {
    await this.publishDeadLetters();
    const rows: Array<{ next_offset: string }> = await this.dataSource.query(
      `SELECT next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2 AND partition = $3`,
      [this.consumerGroup, topic, partition],
    );
    return rows.length ? Number(rows[0].next_offset) : 0;
  }

  /**
   * Decodes records the log has read ahead, and extracts their identifiers (with the rules their tenant's
   * latest batch used), while the batch before them is still applied: a slice per turn of the event loop,
   * so the work fills this thread's waits for PostgreSQL instead of holding back the statement that ends
   * one (PostgreSQL bounds the projector). handleBatch finds them decoded, and the load's keys extracted
   * unless the rules changed meanwhile (then they are extracted again: upsertIdentifiers keys its cache
   * on the rules). Decoding depends on the record alone, so doing it early changes nothing else.
   */
  prepare(records: LogRecord[]): void {
    for (const log of records) if (!this.prepared.has(log)) this.ahead.push(log);
    this.scheduleAhead();
  }

  private scheduleAhead(): void {
    if (this.aheadScheduled || this.ahead.length === 0) return;
    this.aheadScheduled = true;
    setImmediate(() => this.workAhead());
  }

  private workAhead(): void {
    this.aheadScheduled = false;
    for (const log of this.ahead.splice(0, AHEAD_SLICE)) {
      try {
        const one = decodeOne(log);
        if (!('error' in one)) this.extractAhead(one);
        this.prepared.set(log, one);
      } catch {
        // Outside any batch here: handleBatch decodes this record itself and meets the error where it is handled.
      }
    }
    this.scheduleAhead();
  }

  /** The identifiers the record's batch will load, extracted (and cached) now if that batch will get the same rules. */
  private extractAhead(d: Decoded): void {
    const step = stepOf(d);
    const recent = step && this.recentRules.get(step.tenant);
    // A record received after the rules were read makes its batch read them again: extracting now would be wasted.
    if (!step || !recent || d.receivedAt > recent.readAt) return;
    upsertIdentifiers(step.upsert, recent.rules);
    profileIdFor(step.upsert.recordId);
  }

  /** A batch's records still waiting to be decoded ahead are decoded by handleBatch instead. */
  private dropAhead(records: LogRecord[]): void {
    if (this.ahead.length === 0) return;
    const batch = new Set(records);
    this.ahead = this.ahead.filter((log) => !batch.has(log));
  }

  async handleBatch(batch: RecordBatch): Promise<void> {
    const started = Date.now();
    if (this.lost) throw this.lost;
    this.dropAhead(batch.records);
    const { decoded, poison } = decode(batch.records, this.prepared);
    try {
      await this.hasher();
      await this.applyIsolating(batch, batch.records, decoded, poison);
    } catch (error) {
      this.reportFailure(batch, error);
      throw error;
    }
    this.reportProgress(batch);
    await this.publishDeadLetters();
    this.stats.batches++;
    this.stats.records += batch.records.length;
    this.stats.lastBatchMs = Date.now() - started;
  }

  /** Applies a run of records; a data error is narrowed down by bisection to the record that causes it. */
  private async applyIsolating(batch: RecordBatch, range: LogRecord[], decoded: Decoded[], poison: Poison[]): Promise<void> {
    try {
      await this.applyRange(batch, range, decoded, poison);
    } catch (error) {
      if (classifyError(error) !== 'data') throw error;
      if (range.length === 1) {
        // Logged once it is committed as a dead letter (storeDeadLetters), without values.
        await this.applyRange(batch, range, [], [{ log: range[0], error: errorMessage(error) }]);
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

  /** One transaction: fence on the checkpoint, apply the records, store dead letters, projections and checkpoint. */
  private async applyRange(batch: RecordBatch, range: LogRecord[], decoded: Decoded[], poison: Poison[]): Promise<void> {
    const nextOffset = range[range.length - 1].offset + 1;
    let reports: DeadLetterReport[] = [];
    let attempted = false;
    const deadLettered = await runInTransaction(this.dataSource, async (manager) => {
      // A retried attempt: the first one may have changed the graph in memory before it rolled back.
      if (attempted) this.abandonResident('a transaction was retried', undefined);
      attempted = true;
      // The projection and its checkpoint commit together and the log is durable: if a crash loses
      // this commit, the worker simply re-applies from the older checkpoint. No need to wait for fsync.
      await manager.query('SET LOCAL synchronous_commit = off');
      const repo = new ProfileGraphRepository(manager);
      const stored = await repo.lockCheckpoint(this.consumerGroup, batch.topic, batch.partition);
      this.assertContiguous(batch, stored);
      if (stored !== undefined && stored >= nextOffset) return 0; // already applied
      const from = stored ?? -1;
      const deadLetters = poison.filter((p) => p.log.offset >= from);
      const todo = decoded.filter((d) => d.log.offset >= from);
      await this.applyRecords(manager, repo, todo, { consumerGroup: this.consumerGroup, topic: batch.topic, partition: batch.partition, nextOffset }, batch.readAhead);
      reports = await this.storeDeadLetters(manager, batch, deadLetters);
      await DeadLettersRepository.resolve(manager, retriedIds(todo));
      return deadLetters.length;
    }).catch((error: unknown) => {
      this.abandonResident('a batch failed', error);
      throw error;
    });
    this.flushInFlight = false;
    this.logDeadLetters(reports);
    this.stats.deadLettered += deadLettered;
    if (deadLettered && this.deadLetterMode === 'outbox') this.outboxPending = true;
  }

  /**
   * Every kind in log order (DESIGN §9): events repeating an applied `idempotence_id` are dropped, then
   * the records are applied in segments that end at an erasure — the graph slice before an erasure is
   * written before the erasure deletes from it, and the records after it see the graph without the person.
   */
  private async applyRecords(
    manager: EntityManager,
    repo: ProfileGraphRepository,
    todo: Decoded[],
    checkpoint: GraphChanges['checkpoint'],
    readAhead?: () => void,
  ): Promise<void> {
    const rulesByTenant = await this.rulesOf(todo);
    const { fresh, keys } = await this.dropRepeatedEvents(repo, todo);
    let idempotenceKeys = keys;
    for (const segment of segmentsAtErasures(fresh)) {
      const { live, consents } = await this.dropErased(manager, segment.records, rulesByTenant);
      // A native write dropped here (received before an erasure of what it names) writes no outcome row:
      // the waiting handler reads a checkpoint past it without a row as not-found.
      await this.resolveAndSave(repo, live, rulesByTenant, { ...emptyGraphChanges(checkpoint), idempotenceKeys }, readAhead);
      idempotenceKeys = [];
      if (consents.length) await applyConsents(manager, consents);
      if (segment.erasure) {
        // Written before the erasure deletes from them, as a batch without write-behind would have.
        await this.flushResident(repo);
        await this.erase(manager, segment.erasure);
        this.dropResident('an erasure deleted rows the graph in memory holds');
      }
    }
  }

  /**
   * Applies an erasure (store's applyErasure) and removes the write outcomes of the erased person (the
   * hint's profile and those merged into it), as it removes warnings: a replay drops the person's
   * earlier records without outcome rows, so live state and a replay agree.
   */
  private async erase(manager: EntityManager, erasure: ErasureRecord): Promise<void> {
    const person: Array<{ id: string }> = erasure.profileId
      ? await manager.query(
          `WITH RECURSIVE up AS (
             SELECT id, merged_into, 0 AS depth FROM profiles WHERE tenant = $1 AND id = $2
             UNION ALL SELECT p.id, p.merged_into, up.depth + 1 FROM up JOIN profiles p ON p.tenant = $1 AND p.id = up.merged_into WHERE up.depth < 64
           ), root AS (SELECT id FROM up WHERE merged_into IS NULL)
           SELECT id FROM profiles WHERE tenant = $1 AND (id IN (SELECT id FROM root) OR merged_into IN (SELECT id FROM root))`,
          [erasure.tenant, erasure.profileId],
        )
      : [];
    await applyErasure(manager, erasure, await this.hasher());
    if (person.length === 0) return;
    await manager.query(
      `DELETE FROM profile_write_outcomes WHERE tenant = $1 AND (profile_id = ANY ($2::text[]) OR owner_id = ANY ($2::text[]))`,
      [erasure.tenant, person.map((p) => p.id)],
    );
  }

  /**
   * The erasure cut-off (DESIGN §11): a record received before one of its identifiers was erased is
   * dropped when it is applied later (another partition, a lagging worker, a replay); a consent keeps
   * only its hash. Records received after the erasure apply as a new person. One round trip.
   */
  private async dropErased(
    manager: EntityManager,
    records: Decoded[],
    rulesByTenant: Map<string, IdentifierRules>,
  ): Promise<{ live: Decoded[]; consents: Array<ConsentRecord & { hashOnly: boolean }> }> {
    const hasher = await this.hasher();
    const erasing = await tenantsWithErasures(manager, [...rulesByTenant.keys()]);
    const keysOf = new Map<Decoded, Array<{ tenant: string; type: string; hash: string }>>();
    for (const d of records) {
      if (!d.envelope || !erasing.has(d.envelope.tenant)) continue;
      const tenant = d.envelope.tenant;
      const refs = identifierRefsOf(d.decoded, rulesByTenant.get(tenant)!).map((r) => ({ tenant, type: r.type, hash: hasher.hash(tenant, r.type, r.value) }));
      if (d.decoded.kind === 'consent') refs.push({ tenant, type: d.decoded.record.identifierType, hash: d.decoded.record.identifierHash });
      keysOf.set(d, refs);
    }
    const erased = keysOf.size ? await erasedSince(manager, [...keysOf.values()].flat()) : new Map<string, number>();
    const live: Decoded[] = [];
    const consents: Array<ConsentRecord & { hashOnly: boolean }> = [];
    for (const d of records) {
      // Same millisecond as the erasure counts as before it: privacy wins the tie.
      const late = (keysOf.get(d) ?? []).some((k) => (erased.get(erasedKey(k.tenant, k.type, k.hash)) ?? -Infinity) >= d.receivedAt);
      if (d.decoded.kind === 'consent') {
        consents.push({ ...d.decoded.record, hashOnly: late || d.decoded.record.identifierValue === null });
      } else if (late) {
        this.stats.droppedErased++;
      } else {
        live.push(d);
      }
    }
    return { live, consents };
  }

  /**
   * Loaded once, before the first batch's transaction: the secret is created on first use and must be
   * committed before any hash made with it is (a rolled-back secret would leave hashes no one can match).
   */
  private hasher(): Promise<IdentifierHasher> {
    this.hasherLoad ??= IdentifierHasher.load(this.dataSource).catch((error) => {
      this.hasherLoad = undefined;
      throw error;
    });
    return this.hasherLoad;
  }

  /**
   * Idempotency of events (DESIGN §10): an event whose `data.idempotence_id` was applied for its tenant
   * by a record received at most the window earlier has no effect. Decided on `receivedAt`, so a replay
   * decides the same. One round trip for the whole range.
   */
  private async dropRepeatedEvents(repo: ProfileGraphRepository, todo: Decoded[]): Promise<{ fresh: Decoded[]; keys: GraphChanges['idempotenceKeys'] }> {
    const wanted: Array<{ tenant: string; key: string }> = [];
    for (const d of todo) {
      const key = idempotenceIdOf(d);
      if (key !== undefined) wanted.push({ tenant: d.envelope!.tenant, key });
    }
    if (wanted.length === 0) return { fresh: todo, keys: [] };
    const applied = await repo.idempotenceKeys(wanted);
    const fresh: Decoded[] = [];
    const keys = new Map<string, GraphChanges['idempotenceKeys'][number]>();
    for (const d of todo) {
      const key = idempotenceIdOf(d);
      if (key === undefined) {
        fresh.push(d);
        continue;
      }
      const id = `${d.envelope!.tenant}\u0001${key}`;
      const earlier = keys.get(id) ?? applied.get(id);
      if (earlier && earlier.recordId !== d.envelope!.id && d.receivedAt - earlier.receivedAt <= this.idempotencyWindowMs) {
        this.stats.repeatedEvents++;
        continue;
      }
      fresh.push(d);
      keys.set(id, { tenant: d.envelope!.tenant, key, receivedAt: d.receivedAt, recordId: d.envelope!.id });
    }
    return { fresh, keys: [...keys.values()] };
  }

  /**
   * Gap rule: the log must have been read from at or below the stored next offset. Offsets between
   * `readFrom` and the first record were compacted away (erasure on Kafka), not lost.
   */
  private assertContiguous(batch: RecordBatch, stored: number | undefined): void {
    const readFrom = batch.readFrom ?? batch.records[0].offset;
    if (stored !== undefined && readFrom > stored) {
      throw new CheckpointGapError(this.consumerGroup, batch.topic, batch.partition, stored, readFrom);
    }
  }

  /**
   * Each tenant's identifier rules, read no earlier than its newest record was received: a worker in
   * another process then knows every custom type the ingest that accepted the records knew.
   */
  private async rulesOf(todo: Decoded[]): Promise<Map<string, IdentifierRules>> {
    const receivedBy = new Map<string, number>();
    for (const d of todo) {
      if (!d.envelope) continue;
      const at = d.receivedAt;
      receivedBy.set(d.envelope.tenant, Math.max(receivedBy.get(d.envelope.tenant) ?? 0, Number.isFinite(at) ? at : 0));
    }
    const rules = new Map<string, IdentifierRules>();
    for (const [tenant, readSince] of receivedBy) rules.set(tenant, await this.tenants.identifierRules(tenant, readSince));
    if (this.recentRules.size > 1024) this.recentRules.clear();
    for (const [tenant, r] of rules) {
      const readAt = this.tenants.identifierRulesReadAt(r);
      if (readAt !== undefined) this.recentRules.set(tenant, { rules: r, readAt });
    }
    return rules;
  }

  /**
   * Locks and loads the graph slice the records reach (or takes the graph kept in memory during a
   * replay), then applies upserts, events and native writes in offset order and saves what changed
   * (events under the profile each was applied to). `base` carries what the first statement writes
   * besides the graph rows (the checkpoint, idempotence keys). `readAhead` (RecordBatch.readAhead) is
   * called once the load is sent.
   *
   * Saved in statements of SAVE_STEPS records each (the first FIRST_SAVE_STEP), sent as soon as their records are applied: PostgreSQL
   * writes one while the next records are resolved here (two cores at work, not one after the other). A
   * row written by an earlier statement is known to be stored (KnownRows), so later ones UPDATE it; all
   * run in the batch's transaction, and the first failure fails the batch.
   */
  private async resolveAndSave(
    repo: ProfileGraphRepository,
    todo: Decoded[],
    rulesByTenant: Map<string, IdentifierRules>,
    base: GraphChanges,
    readAhead?: () => void,
  ): Promise<void> {
    const steps: GraphStep[] = [];
    for (const d of todo) {
      const step = stepOf(d);
      if (step) steps.push(step);
    }
    if (steps.length === 0) return repo.save(base);
    const resident = await this.residentGraphs(repo, rulesByTenant);
    const graphs = resident ?? (await this.loadGraphs(repo, steps, rulesByTenant, readAhead));
    const known = resident ? this.resident!.stored : repo.takeLoadedRows();
    const writeBehind = resident !== undefined && this.resident!.writeBehind;
    if (writeBehind) this.resident!.unsaved = true;
    const saves = new SaveSequence();
    for (let from = 0, size = FIRST_SAVE_STEP; from < steps.length; from += size, size = SAVE_STEPS) {
      const changes = from === 0 ? base : emptyGraphChanges(base.checkpoint);
      changes.stored = known;
      for (const step of steps.slice(from, from + size)) this.applyStep(step, graphs.get(step.tenant)!, rulesByTenant.get(step.tenant)!, changes);
      // Write-behind: the graph rows stay in memory until a flush.
      if (!writeBehind) takeDirtyRows(graphs, changes);
      // Serialised now, while the statement before may still run: the rows share the graph's objects.
      const prepared = repo.prepareSave(changes);
      known?.remember(changes);
      await saves.send(() => repo.runSave(prepared));
    }
    await saves.done();
  }

  /** Identifier keys of all the steps locked (one pass), and the graph slice they reach loaded: one graph per tenant. */
  private async loadGraphs(
    repo: ProfileGraphRepository,
    steps: GraphStep[],
    rulesByTenant: Map<string, IdentifierRules>,
    readAhead?: () => void,
  ): Promise<Map<string, IdentityGraph>> {
    const keys: TenantIdentifierKey[] = [];
    const profileIds: TenantProfileKey[] = [];
    for (const [tenant, rules] of rulesByTenant) {
      const preload = preloadKeys(steps.filter((i) => i.tenant === tenant).map((i) => i.upsert), rules);
      for (const ref of preload.identifiers) keys.push({ tenant, type: ref.type, value: ref.value });
      for (const id of preload.profileIds) profileIds.push({ tenant, id });
    }
    const loading = repo.lockAndLoad(keys, profileIds);
    // The log reads (and this thread prepares) the next batch while PostgreSQL loads this one's slice.
    readAhead?.();
    const slice = await loading;
    const graphs = new Map<string, IdentityGraph>();
    const single = rulesByTenant.size === 1;
    for (const [tenant, rules] of rulesByTenant) {
      // The slice was loaded for these graphs alone: they take its rows without copying them.
      const snapshot = single
        ? slice
        : { profiles: slice.profiles.filter((p) => p.tenant === tenant), identifiers: slice.identifiers.filter((i) => i.tenant === tenant) };
      graphs.set(tenant, new IdentityGraph(rules, snapshot, { adopt: true }));
    }
    return graphs;
  }

  /**
   * The graphs kept in memory (replay), unless this batch cannot use them; then resident mode ends here,
   * after what they hold unsaved is flushed (it is what the batch's load then finds).
   */
  private async residentGraphs(repo: ProfileGraphRepository, rulesByTenant: Map<string, IdentifierRules>): Promise<Map<string, IdentityGraph> | undefined> {
    if (!this.resident) return undefined;
    const resident = this.resident.graphsFor(rulesByTenant);
    if ('graphs' in resident) return resident.graphs;
    await this.flushResident(repo);
    this.dropResident(resident.reason);
    return undefined;
  }

  /** From here on every batch loads its graph slice from what is committed (always correct, only slower). */
  private dropResident(reason: string): void {
    if (!this.resident) return;
    if (this.resident.unsaved) throw new Error(`resident graph dropped with unsaved rows (${reason}): flush first`);
    this.resident = undefined;
    this.logger.info('replay: identity graph no longer kept in memory; loading per batch', { reason });
  }

  /**
   * A transaction failed or is retried: the graph in memory may hold what it rolled back. Without
   * write-behind resident mode simply ends; with rows only memory held (or a flush not committed) the
   * replay cannot go on (WriteBehindLostError).
   */
  private abandonResident(reason: string, cause: unknown): void {
    if (this.resident?.unsaved || this.flushInFlight) {
      this.resident = undefined;
      this.flushInFlight = false;
      this.lost = new WriteBehindLostError(reason, { cause });
      this.logger.warn('replay: rows kept in memory were lost with a failed transaction; the replay starts over without write-behind', { reason, error: errorMessage(cause ?? reason) });
      throw this.lost;
    }
    this.dropResident(reason);
  }

  /** Write-behind: saves what the graphs hold unsaved, in the caller's transaction. Resident mode ends after it. */
  private async flushResident(repo: ProfileGraphRepository): Promise<void> {
    const statements = this.takeUnsaved();
    if (statements.length) await saveInSequence(repo, statements);
  }

  /**
   * Write-behind: every graph row changed since the graphs were built, taken from them as save statements
   * of FLUSH_PROFILES profiles and twice as many identifiers (no two share a row, and nothing ties a
   * profile's identifiers to its statement). No checkpoint (each batch stored its own) and no merge
   * redirects: every profile is in memory, and the graph re-points the profiles merged into a loser
   * itself. Until the statements commit, the rows exist nowhere else.
   */
  private takeUnsaved(): GraphChanges[] {
    const rows = this.takeUnsavedRows();
    if (!rows) return [];
    const profilesPer = this.flushProfiles;
    const identifiersPer = 2 * profilesPer;
    const count = Math.max(1, Math.ceil(rows.profiles.length / profilesPer), Math.ceil(rows.identifiers.length / identifiersPer));
    return Array.from({ length: count }, (_, n) => ({
      ...emptyGraphChanges(null),
      profiles: rows.profiles.slice(n * profilesPer, (n + 1) * profilesPer),
      identifiers: rows.identifiers.slice(n * identifiersPer, (n + 1) * identifiersPer),
      removedIdentifiers: n === 0 ? rows.removedIdentifiers : [],
      stored: this.resident!.stored,
    }));
  }

  /** Write-behind: the rows the graphs hold unsaved, taken (from here on they exist only in the flush). */
  private takeUnsavedRows(ordered = true): GraphChanges | undefined {
    const resident = this.resident;
    if (!resident?.unsaved) return undefined;
    const rows = emptyGraphChanges(null);
    takeDirtyRows(resident.all(), rows, ordered);
    resident.unsaved = false;
    this.flushInFlight = true;
    return rows;
  }

  /**
   * Write-behind replay, after the last batch: saves what the graphs hold. Nothing was saved before (a
   * flush ends resident mode), so every row is new and the tables are bulk-loaded — profiles and
   * identifiers each by a transaction and connection of its own, in plain INSERTs of FLUSH_PROFILES
   * profiles or twice as many identifiers; a table still empty has its secondary indexes dropped in that
   * transaction and built again once the rows are in (building an index once costs far less than
   * maintaining it row by row, the GIN on attributes most of all). Each transaction is retried after a
   * deadlock (the statements stay in memory, the graph no longer changes). The projection is complete once
   * it returns; resident mode ends. A table that fails for good loses its rows (WriteBehindLostError).
   */
  async finishReplay(): Promise<void> {
    if (this.lost) throw this.lost;
    // Into empty tables no other writer touches: no lock order to keep, the rows go unsorted.
    const rows = this.takeUnsavedRows(false);
    if (!rows) {
      this.resident = undefined;
      return;
    }
    // Identifiers unlinked during the replay were never saved: there is nothing to delete.
    const chunks = <T>(all: T[], size: number) => Array.from({ length: Math.ceil(all.length / size) }, (_, n) => all.slice(n * size, (n + 1) * size));
    // Profiles are serialised first: PostgreSQL builds their indexes (the GIN is the longest) while this
    // thread serialises the identifiers. The identifiers' transaction starts only then, so it never holds
    // its table locked while waiting here (a reader holding profiles and wanting identifiers would wait
    // on it in a cycle PostgreSQL cannot see); it starts however the profiles' transaction ends.
    let profilesSent!: () => void;
    const afterProfiles = new Promise<void>((resolve) => (profilesSent = resolve));
    const profiles = this.bulkLoad('profiles', chunks(rows.profiles, this.flushProfiles).map((p) => ({ profiles: p })), profilesSent);
    profiles.then(profilesSent, profilesSent);
    const identifiers = afterProfiles.then(() => this.bulkLoad('identifiers', chunks(rows.identifiers, 2 * this.flushProfiles).map((i) => ({ identifiers: i }))));
    const saved = await Promise.allSettled([profiles, identifiers]);
    const failed = saved.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) this.abandonResident('the final flush failed', failed.reason);
    this.flushInFlight = false;
    this.resident = undefined;
  }

  /**
   * One table of the final flush, in a transaction of its own: secondary indexes dropped while it is empty,
   * the rows inserted, the indexes built. `sent`: called once every statement is sent (their rows are
   * serialised), before PostgreSQL has run them all.
   */
  private bulkLoad(table: 'profiles' | 'identifiers', statements: Array<Pick<GraphChanges, 'profiles'> | Pick<GraphChanges, 'identifiers'>>, sent?: () => void): Promise<void> {
    return runInTransaction(this.dataSource, async (manager) => {
      await manager.query('SET LOCAL synchronous_commit = off');
      const repo = new ProfileGraphRepository(manager);
      const rebuild = await repo.dropSecondaryIndexesIfEmpty(table);
      await runInSequence(repo, statements.map((statement) => () => repo.prepareInsert(statement)), sent);
      await repo.createIndexes(rebuild);
    });
  }

  /** One record on the graph: an upsert or event (§5, §10), or a native write with its outcome row (§12). */
  private applyStep(step: GraphStep, graph: IdentityGraph, rules: IdentifierRules, changes: GraphChanges): void {
    const { tenant } = step;
    if (step.change) {
      const { outcome, warnings } = new ProfileChangeApplier(graph, rules).apply(step.change, step.d.ts);
      for (const message of warnings) changes.warnings.push({ tenant, recordId: step.change.id, profileId: outcome.profileId, message });
      changes.writeOutcomes.push({ tenant, recordId: step.change.id, ...outcome });
      return;
    }
    const outcome = graph.apply(step.upsert);
    for (const message of outcome.warnings) {
      changes.warnings.push({ tenant, recordId: step.upsert.recordId, profileId: outcome.profileId, message });
    }
    const event = eventRowOf(step.d, outcome.profileId);
    if (event) changes.events.push(event);
  }

  /**
   * In the checkpoint's transaction: a retried batch can never dead-letter a record twice. Only new
   * dead letters go to the DLQ topic: a re-published copy that fails again moves its dead letter back
   * to `new`, and a replay meets its source record in dead_letters already (unique) and adds nothing.
   */
  private async storeDeadLetters(manager: EntityManager, batch: RecordBatch, poison: Poison[]): Promise<DeadLetterReport[]> {
    if (poison.length === 0) return [];
    const letters: DeadLetterInput[] = poison.map((p) => ({
      id: randomUUID(),
      retryOf: isDeadLetterId(p.log.headers[DEAD_LETTER_ID_HEADER]) ? p.log.headers[DEAD_LETTER_ID_HEADER] : undefined,
      sourceTopic: batch.topic,
      sourcePartition: p.log.origin?.partition ?? batch.partition,
      sourceOffset: p.log.origin?.offset ?? p.log.offset,
      schema: p.log.headers.schema,
      error: errorWithoutValues(p.error),
    }));
    const outcome = await DeadLettersRepository.record(manager, letters);
    const added = poison.filter((_, i) => outcome.added.has(letters[i].id));
    const records = deadLetterRecords(batch, added, letters.filter((l) => outcome.added.has(l.id)).map((l) => l.id));
    if (records.length && this.deadLetterMode === 'log-transaction') {
      await (this.eventLog as PostgresEventLog).appendInTransaction((sql, params) => manager.query(sql, params), PROFILE_UPSERTS_DLQ_TOPIC, records);
    } else if (records.length) {
      await DeadLetterOutbox.add(manager, PROFILE_UPSERTS_DLQ_TOPIC, records);
    }
    return letters.flatMap((l): DeadLetterReport[] => {
      if (outcome.added.has(l.id)) return [{ ...l, state: 'new' }];
      if (l.retryOf && outcome.failedAgain.has(l.retryOf)) return [{ ...l, id: l.retryOf, state: 'failed-again' }];
      return []; // already a dead letter (replay): nothing happened
    });
  }

  /** One warn line per dead letter, after commit: where and why, never the record's key or values (personal data). */
  private logDeadLetters(reports: DeadLetterReport[]): void {
    for (const r of reports) {
      this.logger.warn(r.state === 'new' ? 'record dead-lettered' : 'retried dead letter failed again', {
        deadLetterId: r.id,
        topic: r.sourceTopic,
        partition: r.sourcePartition,
        offset: r.sourceOffset,
        error: r.error,
      });
    }
  }

  /** Outbox mode: sends dead letters committed but not yet published. A failure leaves them for the next call. */
  private async publishDeadLetters(): Promise<void> {
    if (!this.outboxPending) return;
    try {
      const sent = await this.outbox.publish((topic, records) => this.eventLog.produce(topic, records));
      this.outboxPending = false;
      if (sent) this.logger.info('dead letters published', { topic: PROFILE_UPSERTS_DLQ_TOPIC, records: sent });
    } catch (error) {
      this.logger.warn('publishing dead letters failed; they stay in the outbox and are sent after the next batch', { error: errorMessage(error) });
    }
  }

  /** Logs why a batch failed and, once it failed often enough (a gap at once), makes readiness fail. */
  private reportFailure(batch: RecordBatch, error: unknown): void {
    const key = `${batch.topic}\u0000${batch.partition}`;
    const where = { group: this.consumerGroup, topic: batch.topic, partition: batch.partition, firstOffset: batch.records[0].offset };
    const message = errorMessage(error);
    const gap = error instanceof CheckpointGapError ? error : undefined;
    if (!gap && classifyError(error) === 'connection') {
      this.logger.warn('database unreachable; the batch is retried', { ...where, error: message });
      return;
    }
    const attempts = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, attempts);
    if (gap) {
      this.logger.error('checkpoint gap: partition stopped, nothing skipped', { ...where, expected: gap.expected, got: gap.got, attempts });
      this.stall(batch, 'checkpoint-gap', gap.message, attempts);
      return;
    }
    if (attempts < this.surfaceAfterAttempts) {
      this.logger.warn('batch failed; retried after a back-off', { ...where, error: message, attempts });
      return;
    }
    this.logger.error('batch keeps failing; the partition is retried and readiness fails until it applies', { ...where, error: message, attempts });
    this.stall(batch, 'retrying', message, attempts);
  }

  private stall(batch: RecordBatch, kind: 'retrying' | 'checkpoint-gap', reason: string, attempts: number): void {
    const since = this.health.problems().find((p) => p.topic === batch.topic && p.partition === batch.partition)?.since;
    this.health.stall({
      consumerGroup: this.consumerGroup,
      topic: batch.topic,
      partition: batch.partition,
      kind,
      reason,
      attempts,
      since: since ?? new Date().toISOString(),
      lastFailureAt: Date.now(),
    });
  }

  private reportProgress(batch: RecordBatch): void {
    const key = `${batch.topic}\u0000${batch.partition}`;
    const attempts = this.failures.get(key);
    if (attempts === undefined) return;
    this.failures.delete(key);
    this.health.recovered(this.consumerGroup, batch.topic, batch.partition);
    this.logger.info('partition applies again', { group: this.consumerGroup, topic: batch.topic, partition: batch.partition, failedAttempts: attempts });
  }
}
