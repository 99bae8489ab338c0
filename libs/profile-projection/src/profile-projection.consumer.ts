import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { ConsumerHandle, EVENT_LOG, EventLog } from '@tessera/event-log';
import { LOGGER, logPort, TesseraLogger } from '@tessera/runtime';
import { acquireWorkerLease, ProjectionLease, TenantRepository } from '@tessera/store';
import { ProfileProjector } from './profile-projector.service';

export const WORKER_BATCH_SIZE = Symbol('WORKER_BATCH_SIZE');

/** Runs the profile projector as a member of its consumer group for the life of the app. */
@Injectable()
export class ProfileProjectionConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly projector: ProfileProjector;
  private handle?: ConsumerHandle;
  private lease?: ProjectionLease;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(EVENT_LOG) private readonly eventLog: EventLog,
    tenants: TenantRepository,
    @Inject(LOGGER) private readonly logger: TesseraLogger,
    @Inject(WORKER_BATCH_SIZE) private readonly batchSize: number,
  ) {
    this.projector = new ProfileProjector(dataSource, eventLog, tenants, logPort(logger.child({ component: 'projector' })));
  }

  async onApplicationBootstrap(): Promise<void> {
    this.lease = await acquireWorkerLease(this.dataSource, () => this.logger.warn('a replay is rebuilding the projections; waiting'));
    this.handle = await this.eventLog.consume({
      groupId: this.projector.consumerGroup,
      topics: [PROFILE_UPSERTS_TOPIC],
      fromBeginning: true,
      maxBatchRecords: this.batchSize,
      resolveStartOffset: (topic, partition) => this.projector.startOffset(topic, partition),
      handleBatch: (batch) => this.projector.handleBatch(batch),
    });
    this.logger.info({ group: this.projector.consumerGroup }, 'profile projector consuming');
  }

  /** Lets the in-flight batch finish and commit before the database goes away. */
  async onApplicationShutdown(): Promise<void> {
    await this.handle?.stop();
    this.handle = undefined;
    await this.lease?.release();
    this.lease = undefined;
  }
}
