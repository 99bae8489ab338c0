import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { IngestEnv } from '@tessera/config';
import { CoreModule, createHttpApp, listen, runService } from '@tessera/runtime';
import { IngestModule, ProfileIngestService } from '@tessera/profile-ingest';
import { SchemaModule } from '@tessera/schema';
import { ComplianceModule } from '@tessera/privacy';
import { ConsentModule } from '@tessera/privacy';
import { NativeWritesApiModule } from '@tessera/profile-api';

void runService({
  name: 'tessera-ingest',
  envClass: IngestEnv,
  async start(env, infra, logger) {
    @Module({ imports: [CoreModule.forRoot(infra), IngestModule.register({ produceTimeoutMs: env.TESSERA_PRODUCE_TIMEOUT_MS, env }), SchemaModule, ComplianceModule, ConsentModule.register({ routes: 'write' }), NativeWritesApiModule] })
    class IngestAppModule {}
    const app = await createHttpApp(IngestAppModule, env, logger);
    logger.info({ url: await listen(app, env), engine: infra.eventLog.engine }, 'ingest ready');
    return {
      async stop() {
        app.get(ProfileIngestService).stopAccepting();
        await app.close();
      },
    };
  },
});
