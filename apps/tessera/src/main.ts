import 'reflect-metadata';
import { SingleNodeEnv } from '@tessera/config';
import { createHttpApp, listen, runService } from '@tessera/runtime';
import { connectConsumers } from '@tessera/runtime/consumers';
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
      adminKey: env.TESSERA_ADMIN_KEY,
    });
    // The API-key guard reads the admin key from the environment: the generated one when none was set.
    env.TESSERA_ADMIN_KEY = keys.adminKey;
    // A hybrid app: ingest and query over HTTP, the worker's consumer groups on the EventLog transport.
    const app = await createHttpApp(TesseraModule.register(infra, env), env, logger);
    const consumers = connectConsumers(app, infra.eventLog, env.TESSERA_WORKER_BATCH_SIZE, logger);
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
        `  admin key:   ${keys.adminKey}   (Authorization: Bearer for /api/v1/tenants: tenants and keys)`,
        '',
        '',
      ].join('\n'),
    );
    consumers.started();
    return {
      async stop() {
        app.get(ProfileIngestService).stopAccepting();
        // Waits for in-flight requests, then the transport lets in-flight batches commit, then the lease goes.
        await app.close();
        consumers.assertNotFatal();
      },
    };
  },
});
