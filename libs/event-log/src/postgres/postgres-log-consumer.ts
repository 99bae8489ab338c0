import { randomUUID } from 'node:crypto';
import { Client, Notification, Pool } from 'pg';
import type { ConsumeOptions, ConsumerHandle, LogRecord, RecordBatch } from '../event-log.port';
import {
  CLAIM_SQL,
  COMMIT_HANDLED_SQL,
  COMMIT_SQL,
  FETCH_SQL,
  GROUP_CHANNEL,
  HEARTBEAT_SQL,
  LIVE_MEMBERS_SQL,
  LOCK_KEY,
  memberLockName,
  partitionLockName,
  REAP_MEMBERS_SQL,
  RECORDS_CHANNEL,
  REGISTER_MEMBER_SQL,
} from './postgres-log.sql';
import { LogRecordRow, LogRowReader } from './postgres-log-rows';

export interface PostgresLogLogger {
  info(msg: string, extra?: Record<string, unknown>): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
  error(msg: string, extra?: Record<string, unknown>): void;
}

export interface PostgresLogConsumerSettings {
  pool: Pool;
  connectionString: string;
  logger: PostgresLogLogger;
  pollIntervalMs: number;
  rebalanceIntervalMs: number;
  handlerRetry: { initialMs: number; maxMs: number };
}

/** A partition this member owns (holds its advisory lock) and the loop that consumes it. */
interface OwnedPartition {
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  readonly generation: number;
  nextOffset: number;
  /** Cleared on hand-over, session loss or stop: the loop ends after its in-flight batch. */
  active: boolean;
  /** Pending wait of the loop (idle or back-off); `records` = a NOTIFY for the topic ends it too. */
  waiter: { wake: () => void; records: boolean } | null;
  loop: Promise<void>;
}

type CommitOutcome = 'committed' | 'fenced' | 'gave-up';

/** A fetch of a partition from `from` on, started before it is needed. */
interface ReadAhead {
  from: number;
  /** The topic's NOTIFY count when the fetch started. */
  version: number;
  batch: Promise<RecordBatch | null>;
}

class SessionGoneError extends Error {
  constructor() {
    super('lock session is not connected');
  }
}

const partitionKey = (topic: string, partition: number) => `${partition}\u0000${topic}`;
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const backoff = (previous: number, initial: number, max: number) => (previous === 0 ? initial : Math.min(previous * 2, max));

/**
 * One member of a consumer group on the Postgres log.
 *
 * Ownership of a partition = a session-level advisory lock held on this member's dedicated "lock session",
 * so a process that dies (even SIGKILL) releases its partitions as soon as PostgreSQL sees the socket close.
 * The same session LISTENs for wake-ups. Every rebalance tick the member heartbeats, counts live members
 * (those whose session holds their member lock) and moves towards its fair share of each topic's partitions.
 */
export class PostgresLogConsumer implements ConsumerHandle {
  readonly memberId = randomUUID();
  private readonly groupId: string;
  private readonly topics: string[];
  private readonly maxBatchRecords: number;
  private readonly rows = new LogRowReader();
  private session: Client | null = null;
  private readonly owned = new Map<string, OwnedPartition>();
  /** Loops of partitions given up but maybe still finishing a batch; a re-acquire waits for them. */
  private readonly draining = new Map<string, Promise<void>>();
  private readonly topicVersions = new Map<string, number>();
  private stopping = false;
  private stopPromise: Promise<void> | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private tickDueAt = Infinity;
  private tickRunning: Promise<void> | null = null;
  private tickFailures = 0;
  /** A tick was asked for while one was running. */
  private tickAgain = false;

  constructor(
    private readonly options: ConsumeOptions,
    private readonly settings: PostgresLogConsumerSettings,
    private readonly onStopped: () => void,
  ) {
    this.groupId = options.groupId;
    this.topics = [...new Set(options.topics)];
    this.maxBatchRecords = options.maxBatchRecords ?? 1000;
  }

  /** Joins the group and takes a first share of partitions; rejects if PostgreSQL cannot be reached. */
  async start(): Promise<void> {
    await this.connectSession();
    await this.runTick();
  }

  assignments(): Array<{ topic: string; partitions: number[] }> {
    const byTopic = new Map<string, number[]>();
    for (const p of this.owned.values()) {
      if (!p.active) continue;
      byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    }
    return [...byTopic].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = null;
    await this.tickRunning?.catch(() => undefined);
    // In-flight batches finish and commit before the partitions are let go.
    for (const p of this.owned.values()) this.deactivate(p);
    await Promise.all([...[...this.owned.values()].map((p) => p.loop), ...this.draining.values()]);
    this.owned.clear();
    const session = this.session;
    this.session = null;
    if (session) {
      try {
        // Unlock first, then leave and tell the others: they can take over at once.
        await session.query('SELECT pg_advisory_unlock_all()');
        await session.query('DELETE FROM log_group_members WHERE group_id = $1 AND member_id = $2', [this.groupId, this.memberId]);
        await session.query('SELECT pg_notify($1, $2)', [GROUP_CHANNEL, this.groupId]);
      } catch (e) {
        this.settings.logger.warn('postgres log: leaving the group cleanly failed; the session end releases it', { groupId: this.groupId, error: errorText(e) });
      }
      await session.end().catch(() => undefined);
    }
    this.settings.logger.info('postgres log: consumer stopped', { groupId: this.groupId, memberId: this.memberId });
    this.onStopped();
  }

  // ---------------------------------------------------------------- lock session

  private async connectSession(): Promise<void> {
    const client = new Client({
      connectionString: this.settings.connectionString,
      application_name: 'tessera-log-consumer',
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: 10_000,
      // A half-open connection must not hang the rebalance loop forever.
      query_timeout: 30_000,
    });
    client.on('error', (e) => this.sessionLost(client, e));
    client.on('end', () => this.sessionLost(client, new Error('connection ended')));
    client.on('notification', (n) => this.onNotification(n));
    try {
      await client.connect();
      const lock = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_KEY}) AS ok`, [memberLockName(this.groupId, this.memberId)]);
      if (!lock.rows[0]?.ok) throw new Error('member lock is taken');
      await client.query(`LISTEN ${RECORDS_CHANNEL}; LISTEN ${GROUP_CHANNEL}`);
      await client.query(REGISTER_MEMBER_SQL, [memberLockName(this.groupId, this.memberId), this.groupId, this.memberId, this.topics]);
      await client.query('SELECT pg_notify($1, $2)', [GROUP_CHANNEL, this.groupId]);
    } catch (e) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw e;
    }
    if (this.stopping) {
      await client.end().catch(() => undefined);
      return;
    }
    this.session = client;
    this.settings.logger.info('postgres log: consumer joined group', { groupId: this.groupId, memberId: this.memberId, topics: this.topics });
  }

  /** The session is gone, and with it every advisory lock: all partitions are lost at once. */
  private sessionLost(client: Client, error: unknown): void {
    if (this.session !== client) return;
    this.session = null;
    client.end().catch(() => undefined);
    if (this.stopping) return;
    this.settings.logger.warn('postgres log: lock session lost, partitions released; reconnecting', {
      groupId: this.groupId,
      memberId: this.memberId,
      partitions: this.owned.size,
      error: errorText(error),
    });
    for (const p of [...this.owned.values()]) this.giveUp(p);
    this.requestTick(0);
  }

  private async sessionQuery<R extends object>(sql: string, params: unknown[] = []): Promise<R[]> {
    const session = this.session;
    if (!session) throw new SessionGoneError();
    try {
      return (await session.query<R>(sql, params)).rows;
    } catch (e) {
      // Anything failing on this simple, dedicated session means it is unusable: start over with a new one.
      this.sessionLost(session, e);
      throw e;
    }
  }

  private onNotification(n: Notification): void {
    if (n.channel === RECORDS_CHANNEL && n.payload) {
      this.topicVersions.set(n.payload, (this.topicVersions.get(n.payload) ?? 0) + 1);
      for (const p of this.owned.values()) if (p.topic === n.payload && p.waiter?.records) p.waiter.wake();
    } else if (n.channel === GROUP_CHANNEL && n.payload === this.groupId) {
      this.requestTick(25);
    }
  }

  // ---------------------------------------------------------------- rebalance ticks

  private requestTick(delayMs: number): void {
    if (this.stopping) return;
    const due = Date.now() + delayMs;
    if (this.tickTimer && due >= this.tickDueAt) return;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickDueAt = due;
    this.tickTimer = setTimeout(() => {
      this.tickTimer = null;
      this.tickDueAt = Infinity;
      void this.runTick();
    }, delayMs);
  }

  /** Ticks never overlap: a tick asked for while one runs is run right after it. */
  private runTick(): Promise<void> {
    if (this.tickRunning) {
      this.tickAgain = true;
      return this.tickRunning;
    }
    this.tickAgain = false;
    this.tickRunning = this.tick().finally(() => {
      this.tickRunning = null;
      if (this.stopping) return;
      const delay = this.tickFailures > 0 ? Math.min(500 * 2 ** (this.tickFailures - 1), 10_000) : this.tickAgain ? 0 : this.settings.rebalanceIntervalMs;
      this.requestTick(delay);
    });
    return this.tickRunning;
  }

  private async tick(): Promise<void> {
    if (this.stopping) return;
    try {
      if (!this.session) await this.connectSession();
      await this.rebalance();
      this.tickFailures = 0;
    } catch (e) {
      this.tickFailures++;
      if (!this.stopping) {
        this.settings.logger.warn('postgres log: group rebalance failed; retrying', { groupId: this.groupId, memberId: this.memberId, error: errorText(e) });
      }
    }
  }

  private async rebalance(): Promise<void> {
    // Partitions whose loop ended on its own (commit fenced, crash) are let go properly first.
    for (const p of [...this.owned.values()]) if (!p.active) await this.release(p);
    const beat = await this.sessionQuery(HEARTBEAT_SQL, [this.groupId, this.memberId]);
    if (beat.length === 0) {
      await this.sessionQuery(REGISTER_MEMBER_SQL, [memberLockName(this.groupId, this.memberId), this.groupId, this.memberId, this.topics]);
    }
    if (Math.random() < 0.05) await this.sessionQuery(REAP_MEMBERS_SQL, [this.groupId]);
    const members = await this.sessionQuery<{ member_id: string; topics: string[] }>(LIVE_MEMBERS_SQL, [this.groupId]);
    const counts = await this.sessionQuery<{ name: string; partitions: number }>('SELECT name, partitions FROM log_topics WHERE name = ANY($1::text[])', [this.topics]);
    let changed = false;
    for (const topic of this.topics) {
      if (this.stopping || !this.session) return;
      const partitions = counts.find((c) => c.name === topic)?.partitions ?? 0;
      const subscribers = members.filter((m) => m.topics.includes(topic)).map((m) => m.member_id);
      if (!subscribers.includes(this.memberId)) subscribers.push(this.memberId);
      subscribers.sort();
      const rank = subscribers.indexOf(this.memberId);
      // Fair share, exact: the first (partitions % members) members by id take one extra partition.
      const quota = Math.floor(partitions / subscribers.length) + (rank < partitions % subscribers.length ? 1 : 0);
      const mine = [...this.owned.values()].filter((p) => p.topic === topic).sort((a, b) => a.partition - b.partition);
      if (mine.length > quota) {
        for (const p of mine.slice(quota)) await this.release(p);
        changed = true;
      } else if (mine.length < quota) {
        const start = (rank * Math.ceil(partitions / subscribers.length)) % Math.max(partitions, 1);
        let have = mine.length;
        for (let i = 0; i < partitions && have < quota && !this.stopping; i++) {
          const partition = (start + i) % partitions;
          if (this.owned.has(partitionKey(topic, partition))) continue;
          if (await this.tryAcquire(topic, partition)) {
            have++;
            changed = true;
          }
        }
      }
    }
    if (changed) await this.sessionQuery('SELECT pg_notify($1, $2)', [GROUP_CHANNEL, this.groupId]);
  }

  private async tryAcquire(topic: string, partition: number): Promise<boolean> {
    const lockName = partitionLockName(this.groupId, topic, partition);
    const [lock] = await this.sessionQuery<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_KEY}) AS ok`, [lockName]);
    if (!lock?.ok) return false;
    const key = partitionKey(topic, partition);
    try {
      // A loop of an earlier ownership may still be committing its last batch: let it, then read the offset.
      await this.draining.get(key);
      const [claim] = await this.sessionQuery<{ generation: string }>(CLAIM_SQL, [this.groupId, topic, partition, this.memberId]);
      const generation = Number(claim!.generation);
      const nextOffset = await this.startOffset(topic, partition, generation);
      if (this.stopping || !this.session) throw new SessionGoneError();
      const p: OwnedPartition = { key, topic, partition, generation, nextOffset, active: true, waiter: null, loop: Promise.resolve() };
      p.loop = this.consumePartition(p).catch((e) => {
        p.active = false;
        this.settings.logger.error('postgres log: partition loop crashed', { topic, partition, error: errorText(e) });
        this.requestTick(0);
      });
      this.owned.set(key, p);
      this.settings.logger.info('postgres log: partition assigned', { groupId: this.groupId, memberId: this.memberId, topic, partition, offset: nextOffset });
      return true;
    } catch (e) {
      if (this.session) await this.sessionQuery(`SELECT pg_advisory_unlock(${LOCK_KEY})`, [lockName]).catch(() => undefined);
      if (e instanceof SessionGoneError) return false;
      throw e;
    }
  }

  /** resolveStartOffset, else the group's committed offset, else beginning / end (the reset is committed). */
  private async startOffset(topic: string, partition: number, generation: number): Promise<number> {
    const fromApp = this.options.resolveStartOffset ? await this.options.resolveStartOffset(topic, partition) : undefined;
    if (typeof fromApp === 'number') {
      if (!Number.isSafeInteger(fromApp) || fromApp < 0) throw new Error(`resolveStartOffset returned an invalid offset ${fromApp} for ${topic}/${partition}`);
      return fromApp;
    }
    const [committed] = await this.sessionQuery<{ next_offset: string }>(
      'SELECT next_offset FROM log_group_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3',
      [this.groupId, topic, partition],
    );
    if (committed) return Number(committed.next_offset);
    if (this.options.fromBeginning ?? true) return 0;
    const [end] = await this.sessionQuery<{ next_offset: string }>('SELECT next_offset FROM log_partitions WHERE topic = $1 AND partition = $2', [topic, partition]);
    const offset = Number(end?.next_offset ?? 0);
    // Committed so that records produced before the first batch are not skipped by a later restart.
    await this.sessionQuery(COMMIT_SQL, [this.groupId, topic, partition, generation, offset]);
    return offset;
  }

  /** Hand-over: the loop finishes its in-flight batch (and commits) before the lock is released. */
  private async release(p: OwnedPartition): Promise<void> {
    this.deactivate(p);
    this.owned.delete(p.key);
    await p.loop;
    // No session: the lock went with it.
    if (this.session) await this.sessionQuery(`SELECT pg_advisory_unlock(${LOCK_KEY})`, [partitionLockName(this.groupId, p.topic, p.partition)]);
    this.settings.logger.info('postgres log: partition released', { groupId: this.groupId, memberId: this.memberId, topic: p.topic, partition: p.partition });
  }

  /** The lock is already gone (session lost): stop the loop and remember it until it has finished. */
  private giveUp(p: OwnedPartition): void {
    this.deactivate(p);
    this.owned.delete(p.key);
    const done = p.loop.finally(() => {
      if (this.draining.get(p.key) === done) this.draining.delete(p.key);
    });
    this.draining.set(p.key, done);
  }

  private deactivate(p: OwnedPartition): void {
    p.active = false;
    p.waiter?.wake();
  }

  // ---------------------------------------------------------------- partition loops

  private async consumePartition(p: OwnedPartition): Promise<void> {
    const { initialMs, maxMs } = this.settings.handlerRetry;
    let handlerDelay = 0;
    let dbDelay = 0;
    let ahead: ReadAhead | undefined;
    while (p.active) {
      // The batch read while the previous one was handled, if it starts where this partition goes on.
      const read = ahead?.from === p.nextOffset ? ahead : this.readAhead(p, p.nextOffset);
      ahead = undefined;
      let batch: RecordBatch | null;
      try {
        batch = await read.batch;
        dbDelay = 0;
      } catch (e) {
        dbDelay = backoff(dbDelay, 250, 10_000);
        this.settings.logger.warn('postgres log: fetch failed; retrying', { topic: p.topic, partition: p.partition, error: errorText(e), retryInMs: dbDelay });
        await this.wait(p, dbDelay, false);
        continue;
      }
      if (!p.active) break; // handed over while fetching: the next owner delivers these records
      if (!batch) {
        // Idle: a NOTIFY for the topic (or the slow fallback poll) ends the wait; never busy-poll.
        if ((this.topicVersions.get(p.topic) ?? 0) === read.version) await this.wait(p, this.settings.pollIntervalMs, true);
        continue;
      }
      const next = batch.records[batch.records.length - 1]!.offset + 1;
      // The next batch is read while this one is handled (PostgreSQL and the handler at work together):
      // from the start, or from when the handler asks for it (readAheadOnRequest).
      let requested: ReadAhead | undefined;
      // Never for a partition being handed over (its next owner reads it).
      const readAhead = () => void (p.active && (requested ??= this.readAhead(p, next)));
      if (!this.options.readAheadOnRequest) readAhead();
      try {
        await this.options.handleBatch(this.options.readAheadOnRequest ? { ...batch, readAhead } : batch);
        readAhead();
        ahead = requested;
        handlerDelay = 0;
      } catch (e) {
        ahead = undefined; // redelivered from this batch's start
        handlerDelay = backoff(handlerDelay, initialMs, maxMs);
        this.settings.logger.warn('postgres log: batch handler failed; redelivering after back-off', {
          groupId: this.groupId,
          topic: p.topic,
          partition: p.partition,
          firstOffset: batch.records[0]!.offset,
          records: batch.records.length,
          error: errorText(e),
          retryInMs: handlerDelay,
        });
        await this.wait(p, handlerDelay, false);
        continue;
      }
      const outcome = await this.commit(p, next);
      if (outcome !== 'committed') {
        if (outcome === 'fenced') {
          this.settings.logger.warn('postgres log: partition was taken over; commit refused', { groupId: this.groupId, topic: p.topic, partition: p.partition });
          this.requestTick(0);
        }
        p.active = false;
        break;
      }
      p.nextOffset = next;
    }
  }

  /** A fetch from `from`, started now; the topic's NOTIFY count before it tells an idle wait whether records came since. */
  private readAhead(p: OwnedPartition, from: number): ReadAhead {
    const version = this.topicVersions.get(p.topic) ?? 0;
    const batch = this.fetch(p, from);
    // A read ahead that is never used (handler failed, partition let go) must not be an unhandled rejection.
    batch.then((b) => b && this.prepare(b)).catch(() => undefined);
    return { from, version, batch };
  }

  /** The application's look at a batch as soon as it is read (ConsumeOptions.prepareBatch); what it throws is ignored. */
  private prepare(batch: RecordBatch): void {
    try {
      this.options.prepareBatch?.(batch);
    } catch {
      // Preparing is an optimisation: handleBatch does the work itself.
    }
  }

  private async fetch(p: OwnedPartition, from: number): Promise<RecordBatch | null> {
    const { rows } = await this.settings.pool.query<LogRecordRow & { high_watermark: string }>(FETCH_SQL, [p.topic, p.partition, from, this.maxBatchRecords]);
    if (rows.length === 0) return null;
    const records = this.rows.records(p.topic, p.partition, rows);
    return { topic: p.topic, partition: p.partition, records, highWatermark: Number(rows[0]!.high_watermark) };
  }

  /** Retries database errors; gives up only when the partition is being let go (the batch is then redelivered). */
  private async commit(p: OwnedPartition, nextOffset: number): Promise<CommitOutcome> {
    let delay = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        // An application with its own checkpoint (resolveStartOffset) does not need the group offset to be durable.
        const sql = this.options.resolveStartOffset ? COMMIT_HANDLED_SQL : COMMIT_SQL;
        const result = await this.settings.pool.query(sql, [this.groupId, p.topic, p.partition, p.generation, nextOffset]);
        return result.rowCount === 1 ? 'committed' : 'fenced';
      } catch (e) {
        const giveUp = !p.active && attempt >= 3;
        this.settings.logger.warn(giveUp ? 'postgres log: offset commit failed; the batch will be redelivered' : 'postgres log: offset commit failed; retrying', {
          groupId: this.groupId,
          topic: p.topic,
          partition: p.partition,
          offset: nextOffset,
          error: errorText(e),
        });
        if (giveUp) return 'gave-up';
        delay = backoff(delay, 200, 5_000);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private wait(p: OwnedPartition, ms: number, records: boolean): Promise<void> {
    if (!p.active) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        if (p.waiter?.wake === wake) p.waiter = null;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      p.waiter = { wake, records };
    });
  }
}
