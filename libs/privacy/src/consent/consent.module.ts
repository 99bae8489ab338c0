import { DynamicModule, Module } from '@nestjs/common';
import { ConsentReadController, ConsentWriteController } from './consent.controller';
import { CONSENT_ROUTES, ConsentRoutes, ConsentService } from './consent.service';

/**
 * Consent (DESIGN §11): POST /v3/consent (`write` routes: the ingest app, which must also import
 * IngestModule, whose publishing path it uses) and GET /v3/consent/{type} (`read` routes: the query
 * app). The single-node app takes both.
 */
@Module({})
export class ConsentModule {
  static register(options: { routes?: ConsentRoutes } = {}): DynamicModule {
    const routes = options.routes ?? 'all';
    return {
      module: ConsentModule,
      controllers: [...(routes !== 'read' ? [ConsentWriteController] : []), ...(routes !== 'write' ? [ConsentReadController] : [])],
      providers: [ConsentService, { provide: CONSENT_ROUTES, useValue: routes }],
    };
  }
}
