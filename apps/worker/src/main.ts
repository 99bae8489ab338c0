import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { WorkerEnv } from '@tessera/config';
import { EventLogTransport } from '@tessera/event-log/transport';
import { CoreModule, createHttpApp, listen, logPort, ReadinessRegistry, runService } from '@tessera/runtime';
import { ProfileProjectionModule } from '@tessera/profile-projection';

void runService({
  name: 'tessera-worker',
  envClass: WorkerEnv,
  async start(env, infra, logger) {
    @Module({ imports: [CoreModule.forRoot(infra), ProfileProjectionModule] })
    class WorkerAppModule {}
    // A hybrid app: /health/* over HTTP on PORT (for orchestrators), the consumer groups on the EventLog transport.
    const app = await createHttpApp(WorkerAppModule, env, logger);
    const consumers = new EventLogTransport({
      eventLog: infra.eventLog,
      logger: logPort(logger.child({ component: 'consumers' })),
      maxBatchRecords: env.TESSERA_WORKER_BATCH_SIZE,
    });
    app.connectMicroservice({ strategy: consumers });
    app.get(ReadinessRegistry).register('consumers', () => consumers.check());
    // A group the log will not restart: one SIGTERM to ourselves once started, so the orderly shutdown runs
    // (HTTP stops, in-flight batches commit, the database closes); stop() then fails and the exit code is 1.
    let fatal: Error | undefined;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    consumers.on('fatal', (error) => {
      if (fatal) return;
      fatal = error;
      void running.then(() => process.kill(process.pid, 'SIGTERM'));
    });
    await app.init(); // bootstrap hooks first: the projection lease is taken before anything is consumed
    await app.startAllMicroservices();
    logger.info({ url: await listen(app, env), engine: infra.eventLog.engine }, 'worker ready');
    started();
    return {
      async stop() {
        await app.close(); // HTTP stops, then the transport lets in-flight batches commit, then the lease goes
        if (fatal) throw new Error(`a consumer group stopped for good: ${fatal.message}`);
      },
    };
  },
});
