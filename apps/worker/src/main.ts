import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { WorkerEnv } from '@tessera/config';
import { CoreModule, createHttpApp, listen, runService } from '@tessera/runtime';
import { WorkerModule } from '@tessera/profile-projection';

void runService({
  name: 'tessera-worker',
  envClass: WorkerEnv,
  async start(env, infra, logger) {
    @Module({ imports: [CoreModule.forRoot(infra), WorkerModule.register({ batchSize: env.TESSERA_WORKER_BATCH_SIZE })] })
    class WorkerAppModule {}
    // The worker serves only /health/* on PORT (for orchestrators).
    const app = await createHttpApp(WorkerAppModule, env, logger);
    logger.info({ url: await listen(app, env), engine: infra.eventLog.engine }, 'worker ready');
    return { stop: () => app.close() };
  },
});
