import type { TenantRepository } from '@tessera/store';
import { ApiProblemException } from './api-problem.exception';

export interface RateLimit {
  /** Tokens added per second (an upserted item or a look-up costs one). */
  itemsPerSecond: number;
  /** Bucket size: the largest burst allowed after a quiet period. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
  limit: RateLimit;
}

/**
 * Per-tenant token buckets, in this process (each ingest/query instance enforces its own).
 * The limit is the tenant's `settings.rateLimit`, else the process default.
 */
export class TenantRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly tenants: TenantRepository,
    private readonly defaults: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes `cost` tokens or throws 429 with the seconds until they would be available. */
  async take(tenant: string, cost: number): Promise<void> {
    const limit = (await this.tenants.settings(tenant)).rateLimit ?? this.defaults;
    const now = this.now();
    let bucket = this.buckets.get(tenant);
    if (!bucket || bucket.limit.itemsPerSecond !== limit.itemsPerSecond || bucket.limit.burst !== limit.burst) {
      bucket = { tokens: limit.burst, at: now, limit };
      this.buckets.set(tenant, bucket);
    }
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.itemsPerSecond);
    bucket.at = now;
    // A request larger than the whole bucket passes when the bucket is full and leaves it in debt.
    if (bucket.tokens >= Math.min(cost, limit.burst)) {
      bucket.tokens -= cost;
      return;
    }
    const missing = Math.min(cost, limit.burst) - bucket.tokens;
    const retryAfter = Math.max(1, Math.ceil(missing / limit.itemsPerSecond));
    throw new ApiProblemException(
      429,
      { message: `rate limit of ${limit.itemsPerSecond} items/s (burst ${limit.burst}) exceeded for this tenant; retry after ${retryAfter}s` },
      { 'Retry-After': String(retryAfter) },
    );
  }
}
