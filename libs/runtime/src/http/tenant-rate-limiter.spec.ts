import type { TenantRepository } from '@tessera/store';
import { ApiProblemException } from './api-problem.exception';
import { TenantRateLimiter } from './tenant-rate-limiter';

function limiter(settings: Record<string, { itemsPerSecond: number; burst: number } | undefined>, clock: { t: number }) {
  const tenants = { settings: async (t: string) => ({ rateLimit: settings[t] }) } as unknown as TenantRepository;
  return new TenantRateLimiter(tenants, { itemsPerSecond: 100, burst: 500 }, () => clock.t);
}

async function status(p: Promise<void>): Promise<{ status: number; retryAfter?: string } | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (!(e instanceof ApiProblemException)) throw e;
    return { status: e.getStatus(), retryAfter: e.headers['Retry-After'] };
  }
}

describe('TenantRateLimiter', () => {
  it('given a full bucket, when a burst up to its size arrives, then it passes and the next item is refused with Retry-After', async () => {
    const clock = { t: 0 };
    const l = limiter({}, clock);
    expect(await status(l.take('a', 500))).toBe('ok');
    expect(await status(l.take('a', 1))).toEqual({ status: 429, retryAfter: '1' });
  });

  it('given an empty bucket, when time passes, then tokens refill at the configured rate', async () => {
    const clock = { t: 0 };
    const l = limiter({}, clock);
    await l.take('a', 500);
    clock.t = 2000; // 2 s × 100/s
    expect(await status(l.take('a', 200))).toBe('ok');
    expect(await status(l.take('a', 50))).toEqual({ status: 429, retryAfter: '1' });
    expect(await status(l.take('a', 300))).toEqual({ status: 429, retryAfter: '3' });
  });

  it('given two tenants, then each has its own bucket, and a tenant setting overrides the default', async () => {
    const clock = { t: 0 };
    const l = limiter({ small: { itemsPerSecond: 10, burst: 20 } }, clock);
    expect(await status(l.take('small', 15))).toBe('ok');
    expect(await status(l.take('small', 10))).toEqual({ status: 429, retryAfter: '1' });
    expect(await status(l.take('big', 500))).toBe('ok');
  });

  it('given a request larger than the burst, then it passes only on a full bucket and leaves it in debt', async () => {
    const clock = { t: 0 };
    const l = limiter({ small: { itemsPerSecond: 10, burst: 20 } }, clock);
    expect(await status(l.take('small', 40))).toBe('ok');
    expect(await status(l.take('small', 1))).toEqual({ status: 429, retryAfter: '3' }); // from -20 to +1: 2.1 s
    clock.t = 4000;
    expect(await status(l.take('small', 40))).toBe('ok');
    expect(await status(l.take('big', 500))).toBe('ok');
  });
});
