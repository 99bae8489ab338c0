import { DynamicModule, Module } from '@nestjs/common';
import type { SingleNodeEnv } from '@tessera/config';
import { CoreModule, Infrastructure } from '@tessera/runtime';
import { IngestModule } from '@tessera/profile-ingest';
import { QueryModule } from '@tessera/profile-query';
import { ProfileProjectionModule } from '@tessera/profile-projection';
import { NativeWritesApiModule, ProfileApiModule } from '@tessera/profile-api';
import { SchemaModule } from '@tessera/schema';
import { ComplianceModule } from '@tessera/privacy';
import { ErasureLogModule } from '@tessera/privacy';
import { ConsentModule } from '@tessera/privacy';

/** Single-node mode: ingest, query and the worker's consumer groups in one process on one port. */
@Module({})
export class TesseraModule {
  static register(infra: Infrastructure, env: SingleNodeEnv): DynamicModule {
    return {
      module: TesseraModule,
      imports: [
        CoreModule.forRoot(infra),
        IngestModule.register({ produceTimeoutMs: env.TESSERA_PRODUCE_TIMEOUT_MS, env }),
        QueryModule,
        ProfileApiModule,
        NativeWritesApiModule,
        ProfileProjectionModule,
        SchemaModule,
        ComplianceModule,
        ConsentModule.register(),
        ErasureLogModule,
      ],
    };
  }
}
