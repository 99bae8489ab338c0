import { Module } from '@nestjs/common';
import { ProfileIngestController } from './profile-ingest.controller';
import { PRODUCE_TIMEOUT_MS, ProfileIngestService } from './profile-ingest.service';

@Module({})
export class IngestModule {
  static register(options: { produceTimeoutMs: number }) {
    return {
      module: IngestModule,
      controllers: [ProfileIngestController],
      providers: [ProfileIngestService, { provide: PRODUCE_TIMEOUT_MS, useValue: options.produceTimeoutMs }],
      exports: [ProfileIngestService],
    };
  }
}
