// Issue 8 item 4: a batch takes a bounded number of lock-table entries, so big batches on several
// workers cannot exhaust PostgreSQL's shared lock table (53200 "out of shared memory"). Issue 12: a
// batch above FINE_LOCK_LIMIT keys holds its tenants' graphs exclusively and reads profiles without row locks.
import { Client } from 'pg';
import { FINE_LOCK_LIMIT, ProfileGraphRepository, runInTransaction } from '@tessera/store';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, silentLogger } from '@tessera/testing/projection-fixture';
import { ProfileProjector } from './profile-projector.service';

let fx: ProjectionFixture;

beforeAll(async () => {
  fx = await createProjectionFixture(4);
});

afterAll(async () => {
  await fx.close();
});

const WORKERS = 4;
const RECORDS = 10_000;

describe('given four workers each applying a 10,000-record batch with 4 identifiers per record', () => {
  it('then every record applies, no batch fails with 53200, and no transaction holds more advisory locks than the bound', async () => {
    const [settings] = await fx.dataSource.query(`SELECT current_setting('max_locks_per_transaction')::int AS locks`);
    expect(settings.locks).toBe(64); // PostgreSQL's default: the lock table is 64 × max_connections entries
    const batches = Array.from({ length: WORKERS }, (_, w) =>
      batchOf(
        w,
        encodeUpserts(
          Array.from({ length: RECORDS }, (_, i) => ({
            email: `w${w}.p${i}@locks.example`,
            phone: `+1555${w}${String(i).padStart(6, '0')}`,
            customer_id: `c-${w}-${i}`,
            vuid: `v-${w}-${i}`,
          })),
        ),
      ),
    );

    // Samples the advisory locks each backend holds while the batches run.
    const sampler = new Client({ connectionString: fx.db.url });
    await sampler.connect();
    let sampling = true;
    let mostHeld = 0;
    const sampled = (async () => {
      while (sampling) {
        const { rows } = await sampler.query(
          `SELECT coalesce(max(n), 0)::int AS n FROM (SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted GROUP BY pid) AS s`,
        );
        mostHeld = Math.max(mostHeld, rows[0].n);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const started = Date.now();
    const results = await Promise.allSettled(batches.map((b) => new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger).handleBatch(b)));
    const elapsed = Date.now() - started;
    sampling = false;
    await sampled;
    await sampler.end();

    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    const [counts] = await fx.dataSource.query(
      `SELECT (SELECT count(*)::int FROM profiles WHERE merged_into IS NULL) AS profiles, (SELECT count(*)::int FROM identifiers) AS identifiers`,
    );
    expect(counts).toEqual({ profiles: WORKERS * RECORDS, identifiers: WORKERS * RECORDS * 4 });
    // The worker's own partition locks (Postgres log consumers) are session locks of other backends.
    expect(mostHeld).toBeGreaterThan(0);
    expect(mostHeld).toBeLessThanOrEqual(FINE_LOCK_LIMIT + 1); // keys and the one tenant's graph
    console.log(`${WORKERS} concurrent ${RECORDS}-record batches (4 identifiers each): ${elapsed} ms; most advisory locks held by one transaction: ${mostHeld}`);
  }, 180_000);
});

/** Settles within `ms`? (true = it did.) */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const done = work.then(() => true, () => true);
  const settled = await Promise.race([done, timeout]);
  clearTimeout(timer);
  return settled;
}

describe('given a transaction holding the graph of tenant "default" the way a batch above FINE_LOCK_LIMIT keys does', () => {
  it('then a small batch of that tenant waits until it commits, and a small batch of another tenant does not wait', async () => {
    const bigKeys = Array.from({ length: FINE_LOCK_LIMIT + 1 }, (_, i) => ({ tenant: 'default', type: 'email', value: `held${i}@locks.example` }));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held!: () => void;
    const holding = new Promise<void>((resolve) => (held = resolve));
    const holder = runInTransaction(fx.dataSource, async (manager) => {
      expect(await new ProfileGraphRepository(manager).lockIdentifiers(bigKeys)).toBe('tenants');
      held();
      await released;
    });
    await holding;

    const same = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger).handleBatch(batchOf(2, encodeUpserts([{ email: 'waits@locks.example', n: 1 }]), RECORDS));
    const other = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger).handleBatch(batchOf(3, encodeUpserts([{ email: 'free@locks.example', n: 1 }], 'acme'), RECORDS));
    expect(await settlesWithin(other, 10_000)).toBe(true);
    await other;
    expect(await settlesWithin(same, 500)).toBe(false);
    release();
    await holder;
    await same;
    const rows: Array<{ tenant: string; value: string }> = await fx.dataSource.query(
      `SELECT tenant, value FROM identifiers WHERE value IN ('waits@locks.example', 'free@locks.example') ORDER BY value`,
    );
    expect(rows).toEqual([
      { tenant: 'acme', value: 'free@locks.example' },
      { tenant: 'default', value: 'waits@locks.example' },
    ]);
  }, 60_000);
});

describe('given people known by email and vuid, and two partitions writing them at once', () => {
  it('when a big batch (tenant graph lock, no row locks) updates them by email while small batches (key locks, row locks) update them by vuid, then no update is lost', async () => {
    const PEOPLE = FINE_LOCK_LIMIT + 88;
    const person = (i: number) => ({ email: `race${i}@locks.example`, vuid: `race-vuid-${i}` });
    await new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger).handleBatch(
      batchOf(0, encodeUpserts(Array.from({ length: PEOPLE }, (_, i) => ({ ...person(i), seed: 1 }))), RECORDS),
    );
    // Each later record names one identifier only: the two partitions reach the same profile through different keys.
    const big = batchOf(0, encodeUpserts(Array.from({ length: PEOPLE }, (_, i) => ({ email: person(i).email, by_email: i }))), RECORDS + PEOPLE);
    const small = Array.from({ length: 12 }, (_, s) =>
      encodeUpserts(Array.from({ length: PEOPLE / 12 }, (_, j) => ({ vuid: person(s * (PEOPLE / 12) + j).vuid, by_vuid: s * (PEOPLE / 12) + j }))),
    );
    const bigDone = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger).handleBatch(big);
    let offset = RECORDS; // the first test left every partition's checkpoint there
    const smallProjector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
    for (const values of small) {
      await smallProjector.handleBatch(batchOf(1, values, offset));
      offset += values.length;
    }
    await bigDone;
    const rows: Array<{ email: string; by_email: number | null; by_vuid: number | null; seed: number | null }> = await fx.dataSource.query(
      `SELECT i.value AS email, (p.attributes->>'by_email')::int AS by_email, (p.attributes->>'by_vuid')::int AS by_vuid, (p.attributes->>'seed')::int AS seed
         FROM identifiers i JOIN profiles p ON p.tenant = i.tenant AND p.id = i.profile_id
        WHERE i.type = 'email' AND i.value LIKE 'race%@locks.example' ORDER BY i.value`,
    );
    expect(rows).toHaveLength(PEOPLE);
    const lost = rows.filter((r) => r.by_email === null || r.by_vuid === null || r.seed !== 1);
    expect(lost).toEqual([]);
  }, 120_000);
});
