import 'reflect-metadata';
import { SingleNodeEnv } from '@tessera/config';
import { EventLogTransport } from '@tessera/event-log/transport';
import { createHttpApp, listen, logPort, ReadinessRegistry, runService } from '@tessera/runtime';
import { ProfileIngestService } from '@tessera/profile-ingest';
import { ensureDefaultTenant } from './default-tenant/default-tenant';
import { TesseraModule } from './tessera.module';

void runService({
  name: 'tessera',
  envClass: SingleNodeEnv,
  async start(env, infra, logger) {
    const keys = await ensureDefaultTenant(infra.tenants, env.TESSERA_DATA_DIR, {
      publicKey: env.TESSERA_PUBLIC_KEY,
      privateKey: env.TESSERA_PRIVATE_KEY,
    });
    // A hybrid app: ingest and query over HTTP, the worker's consumer groups on the EventLog transport.
    const app = await createHttpApp(TesseraModule.register(infra, env), env, logger);
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
    const url = await listen(app, env);
    logger.info({ url, engine: infra.eventLog.engine }, 'tessera single-node ready');
    process.stdout.write(
      [
        '',
        `Tessera is running at ${url}  (event log: ${infra.eventLog.engine}, database: ${infra.database.embedded ? 'embedded PostgreSQL' : 'DATABASE_URL'})`,
        `  tenant:      ${keys.tenant}`,
        `  public key:  ${keys.publicKey}   (x-api-key for POST /v3/profiles)`,
        `  private key: ${keys.privateKey}   (x-api-key for GET /v3/profiles and POST)`,
        '',
        '',
      ].join('\n'),
    );
    started();
    return {
      async stop() {
        app.get(ProfileIngestService).stopAccepting();
        // Waits for in-flight requests, then the transport lets in-flight batches commit, then the lease goes.
        await app.close();
        if (fatal) throw new Error(`a consumer group stopped for good: ${fatal.message}`);
      },
    };
  },
});
