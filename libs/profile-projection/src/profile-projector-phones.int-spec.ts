import { PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { ProfileQueryRepository } from '@tessera/store';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, silentLogger } from '@tessera/testing/projection-fixture';
import { ProfileProjector } from './profile-projector.service';

// Phones as E.164 under the tenant's default region (DESIGN §5), against real PostgreSQL.
let fx: ProjectionFixture;
let projector: ProfileProjector;
let query: ProfileQueryRepository;

beforeEach(async () => {
  fx = await createProjectionFixture();
  projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
  query = new ProfileQueryRepository(fx.dataSource);
});

afterEach(async () => {
  await fx.close();
});

/** A record as ingest wrote it before E.164: the phone kept as the old rule accepted it (≥ 7 digits). */
function withOldPhone(record: { key: string; value: string; headers: Record<string, string> }, phone: string) {
  const value = JSON.parse(record.value);
  value.attributes.phone = phone;
  return { ...record, value: JSON.stringify(value) };
}

describe('given records on the log whose phones the old rule accepted but are not possible now', () => {
  it('when projected, then they apply (never a dead letter): the phone is no identifier but a stored warning, the other attributes land', async () => {
    const [a, b] = encodeUpserts([
      { email: 'old@example.com', phone: '+15550001111', plan: 'pro' },
      { vuid: 'v-old', phone: '+15550002222', first_name: 'OnlyPhone' },
    ]);
    await projector.handleBatch(batchOf(0, [withOldPhone(a, '1234567'), withOldPhone(b, '+12-3456-7')]));
    expect(await projector.startOffset(PROFILE_UPSERTS_TOPIC, 0)).toBe(2);
    const old = await query.findByIdentifier('default', 'email', 'old@example.com');
    expect(old?.attributes).toMatchObject({ plan: 'pro' });
    expect(old?.identifiers).toEqual({ email: ['old@example.com'] });
    expect((await query.findByIdentifier('default', 'vuid', 'v-old'))?.attributes).toMatchObject({ first_name: 'OnlyPhone' });
    const [{ n }] = await fx.dataSource.query(`SELECT count(*)::int AS n FROM identifiers WHERE type = 'phone'`);
    expect(n).toBe(0);
    const warned = await fx.dataSource.query(`SELECT message FROM identity_warnings ORDER BY message`);
    expect(warned.map((w: { message: string }) => w.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^phone ignored: must be a possible phone number/)]),
    );
    expect(warned.filter((w: { message: string }) => w.message.startsWith('phone ignored')).length).toBe(2);
  });
});

describe('given a tenant whose default region is GB (TenantRepository.updateSettings)', () => {
  it('when national and international spellings arrive, then they are one E.164 identifier of one profile', async () => {
    await fx.tenants.ensureTenant('default');
    await fx.tenants.updateSettings('default', { defaultRegion: 'GB' });
    // Ingest under GB would write these records; the projector reads the region from the tenant's settings.
    const [a, b] = encodeUpserts([{ email: 'uk@example.com', phone: '+44 20 7946 0958' }, { phone: '+442079460958', city: 'London' }]);
    await projector.handleBatch(batchOf(0, [a, withOldPhone(b, '020 7946 0958')]));
    const p = await query.findByIdentifier('default', 'phone', '+442079460958');
    expect(p?.attributes).toMatchObject({ email: 'uk@example.com', city: 'London', phone: '+442079460958' });
    expect(p?.identifiers).toEqual({ email: ['uk@example.com'], phone: ['+442079460958'] });
  });
});
