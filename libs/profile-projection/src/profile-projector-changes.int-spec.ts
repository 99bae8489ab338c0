// DESIGN §12: native writes (profile-change.v1) applied by the projector in log order with upserts —
// conflicts decided at apply time (no implicit merge), system fields as `$`-attributes, one outcome row
// per record in the batch's transaction, unlinks deleting identifier rows.
import { buildProfileChangeRecords, contactIdOf, hashPassword, type ProfileChangeInput } from '@tessera/contracts';
import { RecordBatch } from '@tessera/event-log';
import { IdentifierRules, profileIdFor } from '@tessera/identity';
import { ProfileQueryRepository } from '@tessera/store';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, projectionState, silentLogger } from '@tessera/testing/projection-fixture';
import { ProfileProjector } from './profile-projector.service';

const rules = IdentifierRules.defaults();
let fx: ProjectionFixture;
let projector: ProfileProjector;
let query: ProfileQueryRepository;

beforeAll(async () => {
  fx = await createProjectionFixture(1);
  query = new ProfileQueryRepository(fx.dataSource);
});
afterAll(async () => {
  await fx.close();
});

let offset = 0;
beforeEach(async () => {
  await fx.dataSource.query(`TRUNCATE profiles, identifiers, identity_warnings, profile_events, consumer_offsets, profile_write_outcomes`);
  offset = 0;
  projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
});

type Encoded = { key: string; value: string; headers: Record<string, string> };
function next(records: Encoded[]): RecordBatch {
  const batch = batchOf(0, records, offset);
  offset += records.length;
  return batch;
}
function change(input: ProfileChangeInput, at = new Date()) {
  return buildProfileChangeRecords('default', [input], at, rules)[0];
}
async function outcome(recordId: string) {
  const rows = await fx.dataSource.query(`SELECT state, profile_id, owner_id, field, contact_id FROM profile_write_outcomes WHERE record_id = $1`, [recordId]);
  return rows[0];
}
async function stored(id: string): Promise<{ attributes: Record<string, unknown>; merged_into: string | null } | undefined> {
  return (await fx.dataSource.query(`SELECT attributes, merged_into FROM profiles WHERE tenant = 'default' AND id = $1`, [id]))[0];
}
async function identifiersOf(id: string): Promise<string[]> {
  const rows: Array<{ type: string; value: string }> = await fx.dataSource.query(`SELECT type, value FROM identifiers WHERE profile_id = $1 ORDER BY type, value`, [id]);
  return rows.map((r) => `${r.type}:${r.value}`);
}
const upsertOf = (attributes: Record<string, unknown>) => encodeUpserts([attributes]);
const createdId = (r: { id: string }) => profileIdFor(r.id);

describe('given a create', () => {
  it('when its identifiers are new, then the profile has id profileIdFor(record id), default status and tags, and the outcome is applied', async () => {
    const c = change({ op: 'create', attributes: { email: 'Ann@X.io', username: 'ann', first_name: 'Ann' } });
    await projector.handleBatch(next([c]));
    const id = createdId(c);
    expect(await outcome(c.id)).toEqual({ state: 'applied', profile_id: id, owner_id: null, field: null, contact_id: null });
    expect((await stored(id))!.attributes).toEqual({ email: 'ann@x.io', username: 'ann', first_name: 'Ann', $status: 'active', $tags: [] });
    expect(await identifiersOf(id)).toEqual(['email:ann@x.io', 'username:ann']);
    expect((await query.findByIdentifier('default', 'username', 'ann'))?.id).toBe(id);
  });

  it('when its email belongs to a live profile (an upsert earlier in the same batch), then nothing changes and the outcome names the owner and field', async () => {
    const u = upsertOf({ email: 'ann@x.io', city: 'Oslo' });
    const c = change({ op: 'create', attributes: { email: 'ANN@x.io', phone: '5550000001', city: 'Rome' } });
    await projector.handleBatch(next([...u, c]));
    const owner = profileIdFor(u[0].key);
    expect(await outcome(c.id)).toEqual({ state: 'conflict', profile_id: null, owner_id: owner, field: 'attributes.email', contact_id: null });
    expect(await stored(createdId(c))).toBeUndefined();
    expect((await stored(owner))!.attributes).toEqual({ email: 'ann@x.io', city: 'Oslo' });
    expect(await fx.dataSource.query(`SELECT type FROM identifiers WHERE type = 'phone'`)).toEqual([]);
  });

  it('when its username is taken, then it is a conflict on attributes.username', async () => {
    const first = change({ op: 'create', attributes: { username: 'ann', email: 'a1@x.io' } });
    const second = change({ op: 'create', attributes: { email: 'a2@x.io', username: ' ann ' } });
    await projector.handleBatch(next([first, second]));
    expect(await outcome(second.id)).toMatchObject({ state: 'conflict', owner_id: createdId(first), field: 'attributes.username' });
  });

  it('with status, tags, a password hash, customer and is_primary, then they are stored as $-attributes (the hash, never the password)', async () => {
    const hash = await hashPassword('s3cret-pass');
    const c = change({ op: 'create', attributes: { email: 'c@x.io' }, status: 'suspended', tags: ['vip', 'beta'], passwordHash: hash, customer: 'acme-co', isPrimary: true });
    await projector.handleBatch(next([c]));
    expect((await stored(createdId(c)))!.attributes).toEqual({
      email: 'c@x.io',
      $status: 'suspended',
      $tags: ['vip', 'beta'],
      $password: hash,
      $customer: 'acme-co',
      $is_primary: true,
    });
  });
});

describe('given an existing profile', () => {
  async function ann() {
    const c = change({ op: 'create', attributes: { email: 'ann@x.io', phone: '5550000001', city: 'Oslo', age: 40 }, tags: ['a'], customer: 'co' });
    await projector.handleBatch(next([c]));
    return createdId(c);
  }

  it('when patched, then attributes merge like an upsert and only the given system fields change', async () => {
    const id = await ann();
    const p = change({ op: 'patch', profileId: id, attributes: { city: 'Rome', vuid: 'v-1' }, status: 'closed' });
    await projector.handleBatch(next([p]));
    expect(await outcome(p.id)).toMatchObject({ state: 'applied', profile_id: id });
    expect((await stored(id))!.attributes).toEqual({ email: 'ann@x.io', phone: '+15550000001', city: 'Rome', age: 40, vuid: 'v-1', $status: 'closed', $tags: ['a'], $customer: 'co' });
    expect(await identifiersOf(id)).toEqual(['email:ann@x.io', 'phone:+15550000001', 'vuid:v-1']);
  });

  it('when replaced, then attributes left out are cleared (identifier rows stay), status and tags take their defaults, customer stays', async () => {
    const id = await ann();
    const r = change({ op: 'replace', profileId: id, attributes: { email: 'ann@x.io', first_name: 'Ann' } });
    await projector.handleBatch(next([r]));
    expect(await outcome(r.id)).toMatchObject({ state: 'applied', profile_id: id });
    expect((await stored(id))!.attributes).toEqual({ email: 'ann@x.io', first_name: 'Ann', $status: 'active', $tags: [], $customer: 'co' });
    expect(await identifiersOf(id)).toEqual(['email:ann@x.io', 'phone:+15550000001']);
    // An older upsert cannot bring a cleared attribute back (the clear is a write with the record's version).
    const old = encodeUpserts([{ email: 'ann@x.io', city: 'Paris', ts: Date.now() - 60_000 }]);
    await projector.handleBatch(next(old));
    expect((await stored(id))!.attributes).not.toHaveProperty('city');
  });

  it('when patched with an email of another live profile, then nothing is applied (no implicit merge)', async () => {
    const id = await ann();
    const bob = upsertOf({ email: 'bob@x.io' });
    const p = change({ op: 'patch', profileId: id, attributes: { email: 'bob@x.io', city: 'Rome' } });
    await projector.handleBatch(next([...bob, p]));
    expect(await outcome(p.id)).toEqual({ state: 'conflict', profile_id: id, owner_id: profileIdFor(bob[0].key), field: 'attributes.email', contact_id: null });
    expect((await stored(id))!.attributes.city).toBe('Oslo');
    expect(await stored(profileIdFor(bob[0].key))).toMatchObject({ merged_into: null });
  });

  it('when patched with a second customer_id or username, then the per-profile limit makes it a conflict with the profile itself', async () => {
    const c = change({ op: 'create', attributes: { customer_id: 'c-1', username: 'ann' } });
    await projector.handleBatch(next([c]));
    const id = createdId(c);
    const p1 = change({ op: 'patch', profileId: id, attributes: { customer_id: 'c-2' } });
    const p2 = change({ op: 'patch', profileId: id, attributes: { username: 'anna' } });
    await projector.handleBatch(next([p1, p2]));
    expect(await outcome(p1.id)).toMatchObject({ state: 'conflict', owner_id: id, field: 'attributes.customer_id' });
    expect(await outcome(p2.id)).toMatchObject({ state: 'conflict', owner_id: id, field: 'attributes.username' });
  });

  it('when a contact is linked, unlinked and replaced, then identifier rows follow and the outcome names the contact', async () => {
    const id = await ann();
    const link = change({ op: 'link-contact', profileId: id, contact: { type: 'email', value: 'Ann2@x.io' } });
    const unlink = change({ op: 'unlink-contact', profileId: id, contactId: contactIdOf('default', 'email', 'ann@x.io') });
    const swap = change({ op: 'replace-contact', profileId: id, contactId: contactIdOf('default', 'phone', '+15550000001'), contact: { type: 'phone', value: '+1 555 000 0002' } });
    await projector.handleBatch(next([link, unlink, swap]));
    expect(await outcome(link.id)).toMatchObject({ state: 'applied', profile_id: id, contact_id: contactIdOf('default', 'email', 'ann2@x.io') });
    expect(await outcome(unlink.id)).toMatchObject({ state: 'applied', profile_id: id, contact_id: contactIdOf('default', 'email', 'ann@x.io') });
    expect(await outcome(swap.id)).toMatchObject({ state: 'applied', profile_id: id, contact_id: contactIdOf('default', 'phone', '+15550000002') });
    expect(await identifiersOf(id)).toEqual(['email:ann2@x.io', 'phone:+15550000002']);
    expect(await query.findByIdentifier('default', 'email', 'ann@x.io')).toBeNull();
    expect((await stored(id))!.attributes).toMatchObject({ email: 'ann2@x.io', phone: '+15550000002' });
    // The unlinked email, seen again, starts a new person.
    const again = upsertOf({ email: 'ann@x.io' });
    await projector.handleBatch(next(again));
    expect((await query.findByIdentifier('default', 'email', 'ann@x.io'))?.id).toBe(profileIdFor(again[0].key));
  });

  it('when a contact of another profile is linked, or an unknown contact is unlinked, then conflict / not-found and nothing changes', async () => {
    const id = await ann();
    const bob = upsertOf({ email: 'bob@x.io' });
    const link = change({ op: 'link-contact', profileId: id, contact: { type: 'email', value: 'bob@x.io' } });
    const unlink = change({ op: 'unlink-contact', profileId: id, contactId: contactIdOf('default', 'email', 'bob@x.io') });
    await projector.handleBatch(next([...bob, link, unlink]));
    expect(await outcome(link.id)).toEqual({ state: 'conflict', profile_id: id, owner_id: profileIdFor(bob[0].key), field: 'value', contact_id: null });
    expect(await outcome(unlink.id)).toMatchObject({ state: 'not-found' });
    expect(await identifiersOf(profileIdFor(bob[0].key))).toEqual(['email:bob@x.io']);
  });

  it('when a change names an unknown profile, then not-found', async () => {
    const p = change({ op: 'patch', profileId: profileIdFor('nobody'), attributes: { city: 'Rome' } });
    await projector.handleBatch(next([p]));
    expect(await outcome(p.id)).toMatchObject({ state: 'not-found', profile_id: profileIdFor('nobody') });
  });
});

describe('given a batch applied again', () => {
  it('when redelivered, then nothing changes: projections and outcome rows are the same', async () => {
    const c = change({ op: 'create', attributes: { email: 'x@x.io' } });
    const id = createdId(c);
    const batch = next([c, change({ op: 'patch', profileId: id, attributes: { n: 1 } }), change({ op: 'unlink-contact', profileId: id, contactId: contactIdOf('default', 'email', 'x@x.io') })]);
    await projector.handleBatch(batch);
    const before = { ...(await projectionState(fx.dataSource)), outcomes: await fx.dataSource.query(`SELECT * FROM profile_write_outcomes ORDER BY record_id`) };
    await projector.handleBatch(batch);
    await new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger).handleBatch(batch);
    const after = { ...(await projectionState(fx.dataSource)), outcomes: await fx.dataSource.query(`SELECT * FROM profile_write_outcomes ORDER BY record_id`) };
    expect(after).toEqual(before);
    expect(before.outcomes.map((o: { state: string }) => o.state)).toEqual(['applied', 'applied', 'applied']);
  });
});
