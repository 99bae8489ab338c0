// Not part of npm test: the native API's search statement on the bench population, under two planner
// cost settings (random_page_cost), EXPLAIN ANALYZE of each. PEOPLE (default 20000).
import { generatePopulation } from '../../../bench/population';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, silentLogger } from '../../../test/support/projection-fixture';
import { searchSql } from '@tessera/store/profile-search/profile-search.sql';
import { ProfileProjector } from '../src/profile-projector.service';

jest.setTimeout(1_800_000);
let fx: ProjectionFixture;
beforeAll(async () => { fx = await createProjectionFixture(1); });
afterAll(async () => { await fx.close(); });

it('explains', async () => {
  const pop = generatePopulation({ people: Number(process.env.PEOPLE ?? 20000), prefix: 's', seed: 7, batchSize: 100 });
  const records = encodeUpserts(pop.items.map((i) => i.attributes));
  const projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger, 'g');
  for (let i = 0; i < records.length; i += 2000) await projector.handleBatch(batchOf(0, records.slice(i, i + 2000), i));
  // STEPS: what runs before each measured round — none (as the bench's search meets the table), gin_clean_pending_list, VACUUM ANALYZE.
  const steps: Record<string, string> = {
    'as written': 'SELECT 1',
    'GIN pending list flushed': `SELECT gin_clean_pending_list('profiles_search_attributes')`,
    vacuumed: 'VACUUM ANALYZE profiles',
  };
  const { text, values } = searchSql({
    scope: { tenant: 'default', restrictions: null },
    conditions: [
      { field: { kind: 'status' }, op: 'eq', value: 'active' },
      { field: { kind: 'attribute', name: 'city' }, op: 'eq', value: 'Boston' },
    ],
    sort: [{ field: { kind: 'updated_at' }, desc: true }],
    limit: 60,
    offset: 0,
    after: null,
  });
  const out: string[] = [];
  for (const [step, sql] of Object.entries(steps)) {
    await fx.dataSource.query(sql);
    const runner = fx.dataSource.createQueryRunner();
    await runner.connect();
    try {
      for (let i = 0; i < 3; i++) await runner.query(text, values);
      const t = performance.now();
      for (let i = 0; i < 10; i++) await runner.query(text, values);
      const plan = (await runner.query('EXPLAIN (ANALYZE, BUFFERS) ' + text, values)) as Array<Record<string, string>>;
      out.push(`--- ${step}: ${((performance.now() - t) / 10).toFixed(1)} ms per search\n` + plan.map((r) => Object.values(r)[0]).join('\n'));
    } finally {
      await runner.release();
    }
  }
  // eslint-disable-next-line no-console
  console.log(out.join('\n'));
});
