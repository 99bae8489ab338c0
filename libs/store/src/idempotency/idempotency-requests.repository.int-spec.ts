import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '@tessera/testing/database';
import { createDataSource, runMigrationsLocked } from '../database/database';
import { IdempotencyRequestsRepository } from './idempotency-requests.repository';

describe('IdempotencyRequestsRepository', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let repo: IdempotencyRequestsRepository;
  let n = 0;
  const key = () => `key-${++n}`;
  const ACCEPTED = { title: 'Accepted', status: 202, timestamp: '2026-12-02T20:00:00.000Z' };

  beforeAll(async () => {
    db = await createTestDatabase('idempotency');
    dataSource = createDataSource(db.url, 12);
    await dataSource.initialize();
    await runMigrationsLocked(dataSource);
    repo = new IdempotencyRequestsRepository(dataSource, { windowMs: 86_400_000, abandonAfterMs: 60_000 });
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  /** Moves a row's first use into the past. */
  const age = (tenant: string, k: string, ms: number) =>
    dataSource.query(`UPDATE idempotency_requests SET created_at = created_at - $3::float8 * interval '1 millisecond' WHERE tenant = $1 AND key = $2`, [tenant, k, ms]);
  const rows = (tenant: string, k: string) => dataSource.query(`SELECT state, status, response FROM idempotency_requests WHERE tenant = $1 AND key = $2`, [tenant, k]);

  it('given a first use, when the request is answered 202, then a repeat gets that answer and a repeat before it gets in-flight', async () => {
    const k = key();
    const first = await repo.claim('acme', k, 'fp-a');
    expect(first).toEqual({ outcome: 'claimed', token: expect.any(String) });
    expect(await repo.claim('acme', k, 'fp-a')).toEqual({ outcome: 'in-flight' });
    expect(await rows('acme', k)).toEqual([{ state: 'in-flight', status: null, response: null }]);
    if (first.outcome !== 'claimed') throw new Error('not claimed');
    expect(await repo.complete('acme', k, first.token, 202, ACCEPTED)).toBe(true);
    expect(await repo.claim('acme', k, 'fp-a')).toEqual({ outcome: 'replay', status: 202, response: ACCEPTED });
    expect(await repo.claim('acme', k, 'fp-a')).toEqual({ outcome: 'replay', status: 202, response: ACCEPTED });
  });

  it('given a used key, when another request comes with it (in flight or done), then it is a different request', async () => {
    const k = key();
    const first = await repo.claim('acme', k, 'fp-a');
    expect(await repo.claim('acme', k, 'fp-b')).toEqual({ outcome: 'different-request' });
    if (first.outcome !== 'claimed') throw new Error('not claimed');
    await repo.complete('acme', k, first.token, 202, ACCEPTED);
    expect(await repo.claim('acme', k, 'fp-b')).toEqual({ outcome: 'different-request' });
  });

  it('given a claimed key released (a 4xx/5xx answer), then the next request claims it afresh, even with another body', async () => {
    const k = key();
    const first = await repo.claim('acme', k, 'fp-bad');
    if (first.outcome !== 'claimed') throw new Error('not claimed');
    await repo.release('acme', k, first.token);
    expect(await rows('acme', k)).toEqual([]);
    expect(await repo.claim('acme', k, 'fp-fixed')).toEqual({ outcome: 'claimed', token: expect.any(String) });
  });

  it('given two tenants, when both use one key, then each has its own', async () => {
    const k = key();
    const a = await repo.claim('acme', k, 'fp-a');
    const b = await repo.claim('globex', k, 'fp-b');
    expect([a.outcome, b.outcome]).toEqual(['claimed', 'claimed']);
    if (a.outcome !== 'claimed' || b.outcome !== 'claimed') throw new Error('not claimed');
    await repo.complete('acme', k, a.token, 202, { who: 'acme' });
    await repo.complete('globex', k, b.token, 202, { who: 'globex' });
    expect(await repo.claim('acme', k, 'fp-a')).toEqual({ outcome: 'replay', status: 202, response: { who: 'acme' } });
    expect(await repo.claim('globex', k, 'fp-b')).toEqual({ outcome: 'replay', status: 202, response: { who: 'globex' } });
  });

  it('given ten concurrent first uses of one key, then exactly one claims it and the others see it in flight', async () => {
    const k = key();
    const claims = await Promise.all(Array.from({ length: 10 }, () => repo.claim('acme', k, 'fp-a')));
    expect(claims.filter((c) => c.outcome === 'claimed')).toHaveLength(1);
    expect(claims.filter((c) => c.outcome === 'in-flight')).toHaveLength(9);
  });

  it('given an answer older than the window, then the key is used afresh (another body is accepted)', async () => {
    const k = key();
    const first = await repo.claim('acme', k, 'fp-a');
    if (first.outcome !== 'claimed') throw new Error('not claimed');
    await repo.complete('acme', k, first.token, 202, ACCEPTED);
    await age('acme', k, 86_400_000 - 5_000);
    expect(await repo.claim('acme', k, 'fp-b')).toEqual({ outcome: 'different-request' }); // still inside
    await age('acme', k, 10_000);
    const again = await repo.claim('acme', k, 'fp-b');
    expect(again).toEqual({ outcome: 'claimed', token: expect.any(String) });
    expect(await rows('acme', k)).toEqual([{ state: 'in-flight', status: null, response: null }]);
  });

  it('given an in-flight claim older than the abandon bound, then a repeat takes it over and the late first request cannot complete it', async () => {
    const k = key();
    const first = await repo.claim('acme', k, 'fp-a');
    if (first.outcome !== 'claimed') throw new Error('not claimed');
    await age('acme', k, 30_000);
    expect(await repo.claim('acme', k, 'fp-a')).toEqual({ outcome: 'in-flight' }); // within the bound
    await age('acme', k, 31_000);
    const second = await repo.claim('acme', k, 'fp-a');
    if (second.outcome !== 'claimed') throw new Error(`not taken over: ${second.outcome}`);
    expect(await repo.complete('acme', k, first.token, 202, { late: true })).toBe(false);
    await repo.release('acme', k, first.token); // nor release it
    expect(await rows('acme', k)).toEqual([{ state: 'in-flight', status: null, response: null }]);
    expect(await repo.complete('acme', k, second.token, 202, ACCEPTED)).toBe(true);
    expect(await repo.claim('acme', k, 'fp-a')).toEqual({ outcome: 'replay', status: 202, response: ACCEPTED });
  });

  it('given a done answer older than the abandon bound but inside the window, then it is still replayed', async () => {
    const k = key();
    const first = await repo.claim('acme', k, 'fp-a');
    if (first.outcome !== 'claimed') throw new Error('not claimed');
    await repo.complete('acme', k, first.token, 202, ACCEPTED);
    await age('acme', k, 3_600_000);
    expect(await repo.claim('acme', k, 'fp-a')).toEqual({ outcome: 'replay', status: 202, response: ACCEPTED });
  });

  it('when expired rows are purged, then only those go', async () => {
    const old = key();
    const live = key();
    await repo.claim('purge', old, 'fp');
    await repo.claim('purge', live, 'fp');
    await age('purge', old, 86_400_001);
    expect(await repo.purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(await rows('purge', old)).toEqual([]);
    expect(await rows('purge', live)).toHaveLength(1);
  });
});
