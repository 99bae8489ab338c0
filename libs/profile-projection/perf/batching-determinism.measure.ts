// Not part of npm test. Same records, same order, two batch sizes: the projections must be identical (DESIGN §9).
//   PEOPLE=20000 B1=2000 B2=250 npx jest --testMatch '**/perf/*.measure.ts' --maxWorkers=1 libs/profile-projection/perf/batching
import { generatePopulation } from '../../../bench/population';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, silentLogger } from '../../../test/support/projection-fixture';
import { ProfileProjector } from '../src/profile-projector.service';
import { writeFileSync } from 'node:fs';

jest.setTimeout(1_800_000);
let fx: ProjectionFixture;
beforeAll(async () => { fx = await createProjectionFixture(1); });
afterAll(async () => { await fx.close(); });

it('compares', async () => {
  const people = Number(process.env.PEOPLE ?? 20000);
  const pop = generatePopulation({ people, prefix: 'm', seed: 7, batchSize: 100 });
  const records = encodeUpserts(pop.items.map((i) => i.attributes));
  writeFileSync('/tmp/det/records.json', JSON.stringify(records.map((r) => JSON.parse(r.value))));
  for (const [run, B] of [Number(process.env.B1 ?? 2000), Number(process.env.B2 ?? 250)].entries()) {
    await fx.dataSource.query(`TRUNCATE profiles, identifiers, identity_warnings, profile_events, consumer_offsets`);
    const projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger, `g${run}`);
    for (let i = 0; i < records.length; i += B) await projector.handleBatch(batchOf(0, records.slice(i, i + B), i));
    await fx.dataSource.query(`DROP TABLE IF EXISTS ids${run}; CREATE TABLE ids${run} AS SELECT type, value, profile_id FROM identifiers`);
    await fx.dataSource.query(`DROP TABLE IF EXISTS pro${run}; CREATE TABLE pro${run} AS SELECT id, merged_into, attributes FROM profiles`);
  }
  const diff = await fx.dataSource.query(
    `SELECT a.type, a.value, a.profile_id AS p0, b.profile_id AS p1 FROM ids0 a FULL JOIN ids1 b USING (type, value) WHERE a.profile_id IS DISTINCT FROM b.profile_id ORDER BY 1, 2`,
  );
  const pdiff = await fx.dataSource.query(`SELECT count(*) FROM pro0 a FULL JOIN pro1 b USING (id) WHERE a.merged_into IS DISTINCT FROM b.merged_into OR a.attributes IS DISTINCT FROM b.attributes OR a.id IS NULL OR b.id IS NULL`);
  writeFileSync('/tmp/det/diff.json', JSON.stringify(diff, null, 1));
  // eslint-disable-next-line no-console
  console.log(`identifier rows differing: ${diff.length}; profiles differing: ${pdiff[0].count}\n${JSON.stringify(diff.slice(0, 10), null, 1)}`);
});
