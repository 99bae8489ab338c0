import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { WorkerEnv } from '@tessera/config';
import { CoreModule, createHttpApp, listen, runService } from '@tessera/runtime';
import { connectConsumers } from '@tessera/runtime/consumers';
import { ProfileProjectionModule } from '@tessera/profile-projection';
import { ErasureLogModule } from '@tessera/privacy';

void runService({
  name: 'tessera-worker',
  envClass: WorkerEnv,
  async start(env, infra, logger) {
    @Module({ imports: [CoreModule.forRoot(infra), ProfileProjectionModule, ErasureLogModule] })
    class WorkerAppModule {}
    // A hybrid app: /health/* over HTTP on PORT (for orchestrators), the consumer groups on the EventLog transport.
    const app = await createHttpApp(WorkerAppModule, env, logger);
    const consumers = connectConsumers(app, infra.eventLog, env.TESSERA_WORKER_BATCH_SIZE, logger);
    await app.init(); // bootstrap hooks first: the projection lease is taken before anything is consumed
    await app.startAllMicroservices();
    logger.info({ url: await listen(app, env), engine: infra.eventLog.engine }, 'worker ready');
    consumers.started();
    return {
      async stop() {
        await app.close(); // HTTP stops, then the transport lets in-flight batches commit, then the lease goes
        consumers.assertNotFatal();
      },
    };
  },
});
