import { Module } from '@nestjs/common';
import { ProfileProjectionConsumer, WORKER_BATCH_SIZE } from './profile-projection.consumer';

@Module({})
export class WorkerModule {
  static register(options: { batchSize: number }) {
    return {
      module: WorkerModule,
      providers: [ProfileProjectionConsumer, { provide: WORKER_BATCH_SIZE, useValue: options.batchSize }],
      exports: [ProfileProjectionConsumer],
    };
  }
}
