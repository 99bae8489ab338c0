import { DynamicModule, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { HttpEnv } from '@tessera/config';
import { IdempotencyRequestsRepository } from '@tessera/store';
import { IdempotencyInterceptor } from './idempotency.interceptor';

/**
 * How long an unanswered first request holds its key before a repeat may take it over: a request
 * waits for the log at most TESSERA_PRODUCE_TIMEOUT_MS, so twice that (and at least a minute) means
 * its process died. A crashed process must not lock a key for the whole window.
 */
export function abandonAfterMs(env: Pick<HttpEnv, 'TESSERA_PRODUCE_TIMEOUT_MS'>): number {
  return Math.max(60_000, 2 * env.TESSERA_PRODUCE_TIMEOUT_MS);
}

/**
 * The `Idempotency-Key` header (DESIGN §10): the interceptor and its store, for the module whose
 * routes publish records (they declare `@UseInterceptors(IdempotencyInterceptor)`). Bound per route, not
 * globally: every other route (look-ups above all) skips Nest's interceptor chain.
 */
@Module({})
export class IdempotencyModule {
  static register(env: Pick<HttpEnv, 'idempotencyWindowMs' | 'TESSERA_PRODUCE_TIMEOUT_MS'>): DynamicModule {
    return {
      module: IdempotencyModule,
      providers: [
        {
          provide: IdempotencyRequestsRepository,
          inject: [DataSource],
          useFactory: (dataSource: DataSource) => new IdempotencyRequestsRepository(dataSource, { windowMs: env.idempotencyWindowMs, abandonAfterMs: abandonAfterMs(env) }),
        },
        IdempotencyInterceptor,
      ],
      exports: [IdempotencyRequestsRepository, IdempotencyInterceptor],
    };
  }
}
