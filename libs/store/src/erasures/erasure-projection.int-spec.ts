// The erasure as the projector applies it, in log order (DESIGN §9, §11): records of the person received
// before it are dropped wherever they are applied, records received after it start a new profile, and a
// replay of the same log reaches the same state with the person still gone.
import { buildErasureRecords } from '@tessera/contracts';
import { ProfileProjector } from '@tessera/profile-projection';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, projectionState, silentLogger } from '@tessera/testing/projection-fixture';
import { IdentifierHasher } from './identifier-hasher';

let fx: ProjectionFixture;
let hasher: IdentifierHasher;

beforeEach(async () => {
  fx = await createProjectionFixture(2);
  hasher = await IdentifierHasher.load(fx.dataSource);
});
afterEach(async () => {
  await fx.close();
});

const tick = () => new Promise((r) => setTimeout(r, 5));

function erasureOf(type: string, value: string) {
  return buildErasureRecords('default', 'gdpr', [
    { requestId: `req-${value}`, requester: 'dpo', identifierType: type, identifierValue: value, identifierHash: hasher.hash('default', type, value), profileId: null },
  ], new Date());
}

async function tableText(): Promise<string> {
  const tables: Array<{ table_name: string }> = await fx.dataSource.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'log_records'`,
  );
  const texts: string[] = [];
  for (const { table_name } of tables) texts.push(...(await fx.dataSource.query(`SELECT t::text AS t FROM "${table_name}" t`)).map((r: { t: string }) => r.t));
  return texts.join('\n').toLowerCase();
}

describe('given a log with an erasure between records of the person', () => {
  it('when applied, and again on a replay, then earlier records are erased or dropped, later ones make a new profile, and the states are identical', async () => {
    const before = encodeUpserts([
      { email: 'ann@example.com', first_name: 'Annabel', vuid: 'vuid-ann-1' },
      { email: 'ann@example.com', phone: '+1 555 123 4567', city: 'Quahog' },
    ]);
    // Received before the erasure, but on another partition whose worker lags: applied after it.
    const lagging = encodeUpserts([{ phone: '+1 555 123 4567', nickname: 'Annie', vuid: 'vuid-ann-2' }]);
    await tick();
    const erasure = erasureOf('email', 'ann@example.com');
    await tick();
    const after = encodeUpserts([{ email: 'ann@example.com', first_name: 'Ann' }]);
    const bob = encodeUpserts([{ email: 'bob@example.com', first_name: 'Robert' }]);
    const batches = [batchOf(0, [...before, ...erasure, ...after, ...bob]), batchOf(1, lagging)];

    const projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
    for (const b of batches) await projector.handleBatch(b);

    const text = await tableText();
    for (const gone of ['annabel', 'quahog', 'annie', 'vuid-ann-1', 'vuid-ann-2', '+15551234567']) expect(text).not.toContain(gone);
    const people: Array<{ email: string; first_name: string }> = await fx.dataSource.query(
      `SELECT i.value AS email, p.attributes->>'first_name' AS first_name FROM identifiers i JOIN profiles p ON p.tenant = i.tenant AND p.id = i.profile_id WHERE i.type = 'email' ORDER BY 1`,
    );
    expect(people).toEqual([{ email: 'ann@example.com', first_name: 'Ann' }, { email: 'bob@example.com', first_name: 'Robert' }]);
    const live = await projectionState(fx.dataSource);

    // Replay: projections rebuilt from the same log, in the same order (the request rows stay).
    await fx.dataSource.query(`TRUNCATE profiles, identifiers, identity_warnings, profile_events, consumer_offsets, erased_identifiers, consents, idempotence_ids`);
    const replayer = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
    for (const b of batches) await replayer.handleBatch(b);
    expect(await projectionState(fx.dataSource)).toEqual(live);
    for (const gone of ['annabel', 'quahog', 'annie', 'vuid-ann-1', 'vuid-ann-2', '+15551234567']) expect(await tableText()).not.toContain(gone);
    expect(await fx.dataSource.query(`SELECT count(*)::int AS n FROM erasure_requests`)).toEqual([{ n: 1 }]);
  });
});
