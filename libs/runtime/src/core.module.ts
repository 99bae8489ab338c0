import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DataSource } from 'typeorm';
import type { HttpEnv } from '@tessera/config';
import { EVENT_LOG } from '@tessera/event-log';
import { ProfileQueryRepository, TenantRepository } from '@tessera/store';
import { HealthController } from './health/health.controller';
import { ReadinessRegistry } from './health/readiness.registry';
import { AccessPolicyAudit } from './http/access-policy';
import { ApiKeyGuard } from './http/api-key.guard';
import { TenantRateLimiter } from './http/tenant-rate-limiter';
import { Infrastructure } from './infrastructure';
import { MetricsController } from './metrics/metrics.controller';
import { metricsOf } from './metrics/metrics-of';
import { TesseraMetrics } from './metrics/tessera-metrics';
import { INFRASTRUCTURE, LOGGER } from './tokens';

/** The infrastructure's own readiness; modules register theirs on the same registry. */
function coreReadiness(infra: Infrastructure): ReadinessRegistry {
  const readiness = new ReadinessRegistry();
  readiness.register('database', () => infra.database.dataSource.query('SELECT 1'));
  readiness.register('migrations', async () => {
    if (!infra.database.migrationsRan) throw new Error('not run');
    if (await infra.database.dataSource.showMigrations()) throw new Error('pending migrations');
  });
  readiness.register('eventLog', () => infra.eventLog.ping());
  return readiness;
}

/** Hands the already-started infrastructure to Nest's container, plus health, /metrics and API-key auth. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(infra: Infrastructure): DynamicModule {
    return {
      module: CoreModule,
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: INFRASTRUCTURE, useValue: infra },
        { provide: LOGGER, useValue: infra.logger },
        { provide: DataSource, useValue: infra.database.dataSource },
        { provide: EVENT_LOG, useValue: infra.eventLog },
        { provide: TenantRepository, useValue: infra.tenants },
        { provide: ProfileQueryRepository, useValue: infra.profiles },
        { provide: ReadinessRegistry, useValue: coreReadiness(infra) },
        { provide: TesseraMetrics, useValue: metricsOf(infra) },
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        AccessPolicyAudit,
        {
          provide: TenantRateLimiter,
          useValue: new TenantRateLimiter(infra.tenants, {
            itemsPerSecond: (infra.env as Partial<HttpEnv>).TESSERA_RATE_LIMIT ?? 100_000,
            burst: (infra.env as Partial<HttpEnv>).TESSERA_RATE_BURST ?? 200_000,
          }),
        },
      ],
      exports: [INFRASTRUCTURE, LOGGER, DataSource, EVENT_LOG, TenantRepository, ProfileQueryRepository, TenantRateLimiter, ReadinessRegistry, TesseraMetrics],
    };
  }
}
