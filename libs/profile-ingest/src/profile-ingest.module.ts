import { Module } from '@nestjs/common';
import type { HttpEnv } from '@tessera/config';
import { ApiKeyGuard, IdempotencyModule, LeanRoutes } from '@tessera/runtime';
import { EventsController } from './events.controller';
import { ProfileIngestController } from './profile-ingest.controller';
import { IngestLeanRoutes } from './profile-ingest.lean-route';
import { PRODUCE_TIMEOUT_MS, ProfileIngestService } from './profile-ingest.service';

/** The ingest routes, POST /v3/profiles and POST /v3/events (both also served lean, IngestLeanRoutes), over one publishing path (ProfileIngestService). */
@Module({})
export class IngestModule {
  static register(options: { produceTimeoutMs: number; env: Pick<HttpEnv, 'idempotencyWindowMs' | 'TESSERA_PRODUCE_TIMEOUT_MS'> }) {
    return {
      module: IngestModule,
      imports: [IdempotencyModule.register(options.env)],
      controllers: [ProfileIngestController, EventsController],
      providers: [ProfileIngestService, ApiKeyGuard, LeanRoutes, IngestLeanRoutes, { provide: PRODUCE_TIMEOUT_MS, useValue: options.produceTimeoutMs }],
      exports: [ProfileIngestService],
    };
  }
}
