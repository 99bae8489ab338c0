// DESIGN §5: `zaius_id` must be a UUID, and one that names no profile is not an identifier. Older
// versions accepted any string ("test") and made it a profile id, so such records are on logs already.
// Replayed now, they are never poison: the projector applies them through their other identifiers, keeps
// the people apart, records a warning per record, and a record with only that zaius_id changes nothing.
import { PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { ProfileProjector } from '@tessera/profile-projection';
import { ProfileQueryRepository } from '@tessera/store';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, silentLogger } from '../support/projection-fixture';

const PLACEHOLDER = '0190d5c4-7b1e-7000-8000-00000000dead';

/** Records as an older ingest wrote them: the placeholder zaius_id replaced by a value ingest now refuses. */
function legacyRecords(items: Array<Record<string, unknown>>, zaiusId: string) {
  return encodeUpserts(items.map((attributes) => ({ zaius_id: PLACEHOLDER, ...attributes }))).map((r) => ({
    ...r,
    value: r.value.replace(PLACEHOLDER, zaiusId),
  }));
}

let fx: ProjectionFixture;
let projector: ProfileProjector;
let query: ProfileQueryRepository;

beforeEach(async () => {
  fx = await createProjectionFixture(1);
  projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
  query = new ProfileQueryRepository(fx.dataSource);
});

afterEach(async () => {
  await fx.close();
});

describe('given records on the log that share the zaius_id "test" (accepted by older versions)', () => {
  it('when projected, then each person keeps a profile of their own, none has the id "test", and every record is applied with a warning', async () => {
    const people = ['ann', 'bob', 'cy'].map((name) => ({ email: `${name}@legacy.example`, first_name: name }));
    const values = [...legacyRecords(people, 'test'), ...legacyRecords([{ plan: 'ghost' }], 'test')];
    await projector.handleBatch(batchOf(0, values));

    expect(await projector.startOffset(PROFILE_UPSERTS_TOPIC, 0)).toBe(values.length);
    const ids = new Set<string>();
    for (const p of people) {
      const profile = await query.findByIdentifier('default', 'email', p.email);
      expect(profile?.attributes).toEqual({ email: p.email, first_name: p.first_name });
      expect(profile?.identifiers).toEqual({ email: [p.email] });
      ids.add(profile!.id);
    }
    expect(ids.size).toBe(3);
    const rows = await fx.dataSource.query(`SELECT id, merged_into FROM profiles ORDER BY id`);
    expect(rows).toHaveLength(3);
    expect(rows.every((r: { id: string; merged_into: string | null }) => r.id !== 'test' && r.merged_into === null)).toBe(true);

    const warnings: Array<{ record_id: string; profile_id: string | null; message: string }> = await fx.dataSource.query(
      `SELECT record_id, profile_id, message FROM identity_warnings ORDER BY id`,
    );
    const recordIds = values.map((v) => JSON.parse(v.value).id as string);
    for (const id of recordIds.slice(0, 3)) {
      expect(warnings.filter((w) => w.record_id === id).map((w) => w.message)).toEqual(['zaius_id ignored: must be a UUID']);
    }
    expect(warnings.filter((w) => w.record_id === recordIds[3])).toEqual([
      { record_id: recordIds[3], profile_id: null, message: 'zaius_id ignored: must be a UUID' },
      { record_id: recordIds[3], profile_id: null, message: 'record has no identifier besides an unknown zaius_id: nothing applied' },
    ]);
  });

  it('when a profile "test" exists from an older version, then the records do not join it', async () => {
    const now = new Date().toISOString();
    await fx.dataSource.query(
      `INSERT INTO profiles (tenant, id, attributes, attribute_versions, created_at, created_record_id, updated_at)
       VALUES ('default', 'test', '{"first_name":"legacy"}', '{}', $1, 'r0', $1)`,
      [now],
    );
    await projector.handleBatch(batchOf(0, legacyRecords([{ email: 'dee@legacy.example', first_name: 'dee' }, { plan: 'ghost' }], 'test')));
    const dee = await query.findByIdentifier('default', 'email', 'dee@legacy.example');
    expect(dee?.id).not.toBe('test');
    const [legacy] = await fx.dataSource.query(`SELECT attributes, merged_into FROM profiles WHERE id = 'test'`);
    expect(legacy).toEqual({ attributes: { first_name: 'legacy' }, merged_into: null });
  });
});
