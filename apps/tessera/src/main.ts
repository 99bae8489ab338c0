import 'reflect-metadata';
import { SingleNodeEnv } from '@tessera/config';
import { createHttpApp, listen, runService } from '@tessera/runtime';
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
    const app = await createHttpApp(TesseraModule.register(infra, env), env, logger);
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
    return {
      async stop() {
        app.get(ProfileIngestService).stopAccepting();
        await app.close(); // waits for in-flight requests, then stops the consumer after its batch commits
      },
    };
  },
});
