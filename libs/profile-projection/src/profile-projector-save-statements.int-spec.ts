// Issue 12: a batch is saved in statements of SAVE_STEPS records (the first FIRST_SAVE_STEP), each sent while the next records are
// resolved. Rows written by an earlier statement of the batch are UPDATEd by later ones; the result must
// equal the same records applied in small batches, and a statement that fails mid-batch fails the batch
// (bisected to the record, nothing half-applied, no unhandled rejection).
import { DLQ_HEADER, PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { ProfileQueryRepository } from '@tessera/store';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, projectionState, silentLogger } from '@tessera/testing/projection-fixture';
import { FIRST_SAVE_STEP, ProfileProjector, SAVE_STEPS } from './profile-projector.service';

let fx: ProjectionFixture;
let query: ProfileQueryRepository;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

beforeAll(async () => {
  fx = await createProjectionFixture(1);
  query = new ProfileQueryRepository(fx.dataSource);
  process.on('unhandledRejection', onUnhandled);
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await fx.close();
});

beforeEach(async () => {
  await fx.dataSource.query(`TRUNCATE profiles, identifiers, identity_warnings, profile_events, consumer_offsets, dead_letters`);
  await fx.dataSource.query(`DELETE FROM log_records WHERE topic = $1`, [PROFILE_UPSERTS_DLQ_TOPIC]);
  unhandled.length = 0;
});

const pad = (k: number) => String(k).padStart(4, '0');
const RECURRING = Math.min(100, FIRST_SAVE_STEP);
/** The index of the first record of a batch's k-th save statement. */
const statementStart = (k: number) => (k === 0 ? 0 : FIRST_SAVE_STEP + (k - 1) * SAVE_STEPS);
/** Index where each group of RECURRING people starts: each group opens a save statement of its own. */
const at = { created: statementStart(0), phones: statementStart(1), vuids: statementStart(2), seenWithNew: statementStart(3), merged: statementStart(4) };
const TOTAL = statementStart(4) + RECURRING;

/**
 * TOTAL upserts: people created in the first statement, others known by phone in the second, then in later
 * statements the first people gain a vuid, the vuid is seen with a new person's email, and each first person
 * merges with the phone profile (rows inserted by an earlier statement are UPDATEd). Fillers between.
 */
function items(): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < TOTAL; i++) {
    const k = i % RECURRING;
    if (i >= at.created && i < at.created + RECURRING) out.push({ email: `a${pad(k)}@example.com`, n: 1, first: 'created' });
    else if (i >= at.phones && i < at.phones + RECURRING) out.push({ phone: `+1415555${pad(k)}`, n: 1, city: 'Oslo' });
    else if (i >= at.vuids && i < at.vuids + RECURRING) out.push({ email: `a${pad(k)}@example.com`, vuid: `v${pad(k)}`, n: 2 });
    else if (i >= at.seenWithNew && i < at.seenWithNew + RECURRING) out.push({ email: `c${pad(k)}@example.com`, vuid: `v${pad(k)}`, n: 9 });
    else if (i >= at.merged && i < at.merged + RECURRING) out.push({ email: `a${pad(k)}@example.com`, phone: `+1415555${pad(k)}`, n: 3 });
    else out.push({ email: `filler${i}@example.com`, n: i });
  }
  return out;
}

async function warnings(): Promise<unknown[]> {
  return fx.dataSource.query(`SELECT tenant, record_id, profile_id, message FROM identity_warnings ORDER BY record_id, message`);
}

describe('given a batch larger than one save statement', () => {
  it('when people recur across its statements (created, changed, their vuid seen with a new person, merged), then the projection equals the same records applied in batches of 50', async () => {
    expect(RECURRING).toBeLessThanOrEqual(FIRST_SAVE_STEP); // each group within one statement, five statements
    const records = encodeUpserts(items());

    await new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger).handleBatch(batchOf(0, records));
    const oneBatch = { ...(await projectionState(fx.dataSource)), warnings: await warnings() };

    const a = await query.findByIdentifier('default', 'email', 'a0007@example.com');
    expect(a?.attributes).toMatchObject({ n: 3, first: 'created', city: 'Oslo' });
    expect(a?.identifiers).toMatchObject({ email: ['a0007@example.com'], phone: ['+14155550007'] });
    const merged = await fx.dataSource.query(`SELECT count(*)::int AS n FROM profiles WHERE merged_into IS NOT NULL`);
    expect(merged[0].n).toBe(RECURRING);

    await fx.dataSource.query(`TRUNCATE profiles, identifiers, identity_warnings, profile_events, consumer_offsets`);
    const small = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
    for (let i = 0; i < records.length; i += 50) await small.handleBatch(batchOf(0, records.slice(i, i + 50), i));
    expect({ ...(await projectionState(fx.dataSource)), warnings: await warnings() }).toEqual(oneBatch);
    expect(unhandled).toEqual([]);
  });

  it('when a later statement fails on a value the database refuses, then the batch is bisected: that record is dead-lettered and every other one applies', async () => {
    const records = encodeUpserts(items());
    const bad = at.merged + 50; // in the last statement
    // Valid JSON the decoder accepts, but jsonb cannot hold \u0000 (SQLSTATE 22P05): the statement fails in PostgreSQL.
    const parsed = JSON.parse(records[bad].value);
    records[bad] = { ...records[bad], value: JSON.stringify({ ...parsed, attributes: { ...parsed.attributes, note: 'nul\u0000here' } }) };

    await new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger).handleBatch(batchOf(0, records));

    const dead: Array<{ headers: Record<string, string> }> = await fx.dataSource.query(`SELECT headers FROM log_records WHERE topic = $1`, [PROFILE_UPSERTS_DLQ_TOPIC]);
    expect(dead.map((d) => d.headers[DLQ_HEADER.sourceOffset])).toEqual([String(bad)]);
    const [cp] = await fx.dataSource.query(`SELECT next_offset FROM consumer_offsets WHERE topic = $1`, [PROFILE_UPSERTS_TOPIC]);
    expect(Number(cp.next_offset)).toBe(TOTAL);
    // Every other record applied: those of the bad record's statement before and after it, and the earlier statements'.
    const lastFiller = at.seenWithNew - 1;
    expect((await query.findByIdentifier('default', 'email', `filler${lastFiller}@example.com`))?.attributes.n).toBe(lastFiller);
    expect((await query.findByIdentifier('default', 'email', 'a0049@example.com'))?.attributes.n).toBe(3);
    expect((await query.findByIdentifier('default', 'email', 'a0051@example.com'))?.attributes.n).toBe(3);
    // The bad record's person stays as the earlier statements left it (not merged, n from the vuid record).
    expect((await query.findByIdentifier('default', 'email', 'a0050@example.com'))?.attributes.n).toBe(2);
    expect(unhandled).toEqual([]);
  });
});
