// Issue 8 item 4: a batch takes a bounded number of lock-table entries, so big batches on several
// workers cannot exhaust PostgreSQL's shared lock table (53200 "out of shared memory").
import { Client } from 'pg';
import { FINE_LOCK_LIMIT, LOCK_BUCKETS } from '@tessera/store';
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
    expect(mostHeld).toBeLessThanOrEqual(FINE_LOCK_LIMIT + LOCK_BUCKETS);
    console.log(`${WORKERS} concurrent ${RECORDS}-record batches (4 identifiers each): ${elapsed} ms; most advisory locks held by one transaction: ${mostHeld}`);
  }, 180_000);
});
