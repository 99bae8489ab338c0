import { Module } from '@nestjs/common';
import type { HttpEnv } from '@tessera/config';
import { Infrastructure, INFRASTRUCTURE } from '@tessera/runtime';
import { ProfileWrites } from './profile-writes.port';
import { PROFILE_WRITES_OPTIONS, ProfileWritesService, type ProfileWritesOptions } from './profile-writes.service';

/**
 * Native profile writes (DESIGN §12): `ProfileWrites` (the port) backed by ProfileWritesService, which
 * produces profile-change records and waits for the projector. Needs the app's CoreModule (DataSource,
 * EVENT_LOG, TenantRepository) and, for erase, its ComplianceModule.
 */
@Module({
  providers: [
    {
      provide: PROFILE_WRITES_OPTIONS,
      inject: [INFRASTRUCTURE],
      useFactory: (infra: Infrastructure): ProfileWritesOptions => {
        const env = infra.env as Partial<HttpEnv>;
        return { syncWriteTimeoutMs: env.TESSERA_SYNC_WRITE_TIMEOUT_MS ?? 5_000, produceTimeoutMs: env.TESSERA_PRODUCE_TIMEOUT_MS ?? 10_000 };
      },
    },
    ProfileWritesService,
    { provide: ProfileWrites, useExisting: ProfileWritesService },
  ],
  exports: [ProfileWrites],
})
export class ProfileWritesModule {}
