import { Controller, Inject, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DataSource } from 'typeorm';
import { PROJECTED_SCHEMAS, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { EVENT_LOG, EventLog, RecordBatch } from '@tessera/event-log';
import { AssignedPartition, CheckpointSource, RecordBatchPattern } from '@tessera/event-log/transport';
import { Infrastructure, INFRASTRUCTURE, LOGGER, logPort, ReadinessRegistry, TesseraLogger } from '@tessera/runtime';
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

  constructor(
    private readonly dataSource: DataSource,
    @Inject(EVENT_LOG) eventLog: EventLog,
    tenants: TenantRepository,
    @Inject(LOGGER) private readonly logger: TesseraLogger,
    readiness: ReadinessRegistry,
    @Inject(INFRASTRUCTURE) infra: Infrastructure,
  ) {
    this.projector = new ProfileProjector(dataSource, eventLog, tenants, logPort(logger.child({ component: 'projector' })), PROFILE_PROJECTOR_GROUP, {
      idempotencyWindowMs: infra.env.idempotencyWindowMs,
    });
    // Partitions that keep failing (or hit a checkpoint gap) fail readiness.
    readiness.register('projector', () => this.projector.health.check());
  }

  /** Runs before the transport starts consuming (app.init precedes startAllMicroservices): a replay blocks workers. */
  async onApplicationBootstrap(): Promise<void> {
    this.lease = await acquireWorkerLease(this.dataSource, () => this.logger.warn('a replay is rebuilding the projections; waiting'));
  }

  @CheckpointSource(PROFILE_PROJECTOR_GROUP)
  startOffset(@Payload() assigned: AssignedPartition): Promise<number | undefined> {
    return this.projector.startOffset(assigned.topic, assigned.partition);
  }

  /** Every kind the projector applies, in one order (DESIGN §9); records without a schema header are profile upserts. */
  @RecordBatchPattern({ group: PROFILE_PROJECTOR_GROUP, topic: PROFILE_UPSERTS_TOPIC, schema: PROJECTED_SCHEMAS, acceptsMissingHeader: true })
  applyRecords(@Payload() batch: RecordBatch): Promise<void> {
    // Never project beside a replay: without the lease the batch fails and is redelivered.
    if (!this.lease) throw new Error('the projection lease is not held: consuming started before the worker took it');
    return this.projector.handleBatch(batch);
  }

  /** After the transport stopped (its in-flight batches committed): a replay may start. */
  async onApplicationShutdown(): Promise<void> {
    await this.lease?.release();
    this.lease = undefined;
  }
}
