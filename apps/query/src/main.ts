import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { QueryEnv } from '@tessera/config';
import { CoreModule, createHttpApp, listen, runService } from '@tessera/runtime';
import { QueryModule } from '@tessera/profile-query';
import { ProfileApiModule } from '@tessera/profile-api';
import { ConsentModule } from '@tessera/privacy';

void runService({
  name: 'tessera-query',
  envClass: QueryEnv,
  async start(env, infra, logger) {
    @Module({ imports: [CoreModule.forRoot(infra), QueryModule, ProfileApiModule, ConsentModule.register({ routes: 'read' })] })
    class QueryAppModule {}
    const app = await createHttpApp(QueryAppModule, env, logger);
    logger.info({ url: await listen(app, env) }, 'query ready');
    return { stop: () => app.close() };
  },
});
