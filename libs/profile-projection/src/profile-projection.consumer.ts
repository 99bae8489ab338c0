import { Controller, Inject, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DataSource } from 'typeorm';
import { PROJECTED_SCHEMAS, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { EVENT_LOG, EventLog, RecordBatch } from '@tessera/event-log';
import { AssignedPartition, CheckpointSource, RecordBatchPattern, RecordBatchPreparer } from '@tessera/event-log/transport';
import { countRecordKinds, Infrastructure, INFRASTRUCTURE, LOGGER, logPort, partitionLag, ReadinessRegistry, TesseraLogger, TesseraMetrics } from '@tessera/runtime';
import { acquireWorkerLease, ProjectionLease, TenantRepository } from '@tessera/store';
import { PROFILE_PROJECTOR_GROUP, ProfileProjector } from './profile-projector.service';

/**
 * The profile projector's consumer group on the EventLog transport: one handler per record kind of the
 * event store (DESIGN §9). Kinds it does not declare are not dead-lettered: their partition waits for a
 * version that handles them (a valid record of a newer producer is never poison), and health says so.
 */
@Controller()
export class ProfileProjectionConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly projector: ProfileProjector;
  private lease?: ProjectionLease;
  private deadLettersCounted = 0;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(EVENT_LOG) eventLog: EventLog,
    tenants: TenantRepository,
    @Inject(LOGGER) private readonly logger: TesseraLogger,
    readiness: ReadinessRegistry,
    @Inject(INFRASTRUCTURE) infra: Infrastructure,
    @Optional() private readonly metrics?: TesseraMetrics,
  ) {
    this.projector = new ProfileProjector(dataSource, eventLog, tenants, logPort(logger.child({ component: 'projector' })), PROFILE_PROJECTOR_GROUP, {
      idempotencyWindowMs: infra.env.idempotencyWindowMs,
    });
    // Partitions that keep failing (or hit a checkpoint gap) fail readiness.
    readiness.register('projector', () => this.projector.health.check());
    // Scrape time: the topic's high-water marks minus the projector's checkpoints (its only truth).
    metrics?.watchConsumerLag({ group: PROFILE_PROJECTOR_GROUP, topic: PROFILE_UPSERTS_TOPIC, read: () => this.lag(eventLog, PROFILE_UPSERTS_TOPIC) });
  }

  /** Runs before the transport starts consuming (app.init precedes startAllMicroservices): a replay blocks workers. */
  async onApplicationBootstrap(): Promise<void> {
    this.lease = await acquireWorkerLease(this.dataSource, () => this.logger.warn('a replay is rebuilding the projections; waiting'));
  }

  @CheckpointSource(PROFILE_PROJECTOR_GROUP)
  startOffset(@Payload() assigned: AssignedPartition): Promise<number | undefined> {
    return this.projector.startOffset(assigned.topic, assigned.partition);
  }

  /** A batch the log read ahead: decoded while the batch before it waits for PostgreSQL. */
  @RecordBatchPreparer(PROFILE_PROJECTOR_GROUP)
  prepareRecords(@Payload() batch: RecordBatch): void {
    this.projector.prepare(batch.records);
  }

  /** Every kind the projector applies, in one order (DESIGN §9); records without a schema header are profile upserts. */
  @RecordBatchPattern({ group: PROFILE_PROJECTOR_GROUP, topic: PROFILE_UPSERTS_TOPIC, schema: PROJECTED_SCHEMAS, acceptsMissingHeader: true })
  applyRecords(@Payload() batch: RecordBatch): Promise<void> {
    // Never project beside a replay: without the lease the batch fails and is redelivered.
    if (!this.lease) throw new Error('the projection lease is not held: consuming started before the worker took it');
    return this.metrics ? this.handleMeasured(batch, this.metrics) : this.projector.handleBatch(batch);
  }

  /** The batch with its size, duration, records by kind and new dead letters counted (after commit). */
  private async handleMeasured(batch: RecordBatch, metrics: TesseraMetrics): Promise<void> {
    const group = PROFILE_PROJECTOR_GROUP;
    metrics.projectorBatchRecords.observe({ group }, batch.records.length);
    const end = metrics.projectorBatchDuration.startTimer({ group });
    try {
      await this.projector.handleBatch(batch);
    } catch (error) {
      end({ outcome: 'error' });
      throw error;
    } finally {
      // Partitions run concurrently: count the projector's running total since the last look, not a per-batch delta.
      const dead = this.projector.stats.deadLettered - this.deadLettersCounted;
      this.deadLettersCounted += dead;
      if (dead > 0) metrics.deadLetters.inc({ group }, dead);
    }
    end({ outcome: 'ok' });
    for (const [kind, n] of countRecordKinds(batch.records)) metrics.projectorRecordsApplied.inc({ group, kind }, n);
  }

  private async lag(eventLog: EventLog, topic: string) {
    const [ends, rows] = await Promise.all([
      eventLog.endOffsets(topic),
      this.dataSource.query(`SELECT partition, next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2`, [PROFILE_PROJECTOR_GROUP, topic]) as Promise<Array<{ partition: number; next_offset: string }>>,
    ]);
    return partitionLag(ends, new Map(rows.map((r) => [Number(r.partition), Number(r.next_offset)])));
  }

  /** After the transport stopped (its in-flight batches committed): a replay may start. */
  async onApplicationShutdown(): Promise<void> {
    await this.lease?.release();
    this.lease = undefined;
  }
}
