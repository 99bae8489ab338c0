import { createHmac } from 'node:crypto';
import { buildErasureRecords, ErasureRecord } from '@tessera/contracts';
import { ProfileProjector } from '@tessera/profile-projection';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, silentLogger } from '@tessera/testing/projection-fixture';
import { runInTransaction } from '../transaction/transaction-runner';
import { applyErasure, erasedKey, erasedSince, findIdentifierHolder } from './erasures.repository';
import { ErasureRequestsRepository } from './erasure-requests.repository';
import { IdentifierHasher } from './identifier-hasher';

const TENANT = 'default';
/** Everything the erased person ever sent, as it would be stored (values normalised, names as given). */
const ANN = ['ann@example.com', 'ann.work@example.com', '+15551234567', 'vuid-ann-1', 'cust-ann-42', 'Annabel', 'Zebedee', 'zoë@example.com'];
const BOB = ['bob@example.com', '+15559876543', 'vuid-bob-1', 'Robert'];

let fx: ProjectionFixture;
let projector: ProfileProjector;
let hasher: IdentifierHasher;
let requests: ErasureRequestsRepository;

beforeEach(async () => {
  fx = await createProjectionFixture(1);
  projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
  hasher = await IdentifierHasher.load(fx.dataSource);
  requests = new ErasureRequestsRepository(fx.dataSource);
});

afterEach(async () => {
  await fx.close();
});

/** Ann as two profiles merged into one (by a shared phone), plus Bob who shares nothing with her. */
async function projectPeople(): Promise<{ ann: string; annMerged: string; bob: string }> {
  await projector.handleBatch(
    batchOf(0, encodeUpserts([
      { email: 'ann@example.com', first_name: 'Annabel', vuid: 'vuid-ann-1', ts: 100 },
      { email: 'Ann.Work@example.com', customer_id: 'cust-ann-42', last_name: 'Zebedee', ts: 200 },
      { email: 'ann@example.com', phone: '+1 555 123 4567', ts: 300 },
      { email: 'zoë@example.com', phone: '+1 555 123 4567', ts: 350 },
      { email: 'bob@example.com', first_name: 'Robert', vuid: 'vuid-bob-1', phone: '+1 555 987 6543', ts: 360 },
      // Merges Ann's work profile into her first one; the second customer_id is refused (a warning on her profile).
      { phone: '+1 555 123 4567', email: 'ann.work@example.com', ts: 400 },
      { email: 'ann@example.com', customer_id: 'cust-other-7', ts: 500 },
    ])),
  );
  const rows: Array<{ id: string; merged_into: string | null; first_name: string | null }> = await fx.dataSource.query(
    `SELECT id, merged_into, attributes->>'first_name' AS first_name FROM profiles ORDER BY created_at`,
  );
  const ann = rows.find((r) => r.first_name === 'Annabel')!.id;
  const annMerged = rows.find((r) => r.merged_into === ann)!.id;
  const bob = rows.find((r) => r.first_name === 'Robert')!.id;
  // Events and consents as the events and consent helpers store them (by SQL: this test is about erasure).
  for (const [id, profile, email] of [
    ['e1', ann, 'ann@example.com'],
    ['e2', annMerged, 'ann.work@example.com'],
    ['e3', bob, 'bob@example.com'],
  ]) {
    await fx.dataSource.query(
      `INSERT INTO profile_events (tenant, id, profile_id, type, action, ts, identifiers, data) VALUES ($1, $2, $3, 'order', 'placed', now(), $4, $5)`,
      [TENANT, id, profile, JSON.stringify({ email }), JSON.stringify({ note: `for ${email}` })],
    );
  }
  for (const [type, value] of [['email', 'ann@example.com'], ['phone', '+15551234567'], ['email', 'bob@example.com']]) {
    await fx.dataSource.query(
      `INSERT INTO consents (tenant, type, value_hash, value, consent, reason, update_ts, record_id) VALUES ($1, $2, $3, $4, false, 'opt-out', now(), 'r')`,
      [TENANT, type, hasher.hash(TENANT, type, value), value],
    );
  }
  return { ann, annMerged, bob };
}

function erasureOf(type: string, value: string, profileId: string | null, receivedAt = new Date()): ErasureRecord {
  const [r] = buildErasureRecords(TENANT, 'gdpr', [
    { requestId: `req-${type}-${Date.now()}`, requester: 'dpo@tenant.example', identifierType: type, identifierValue: value, identifierHash: hasher.hash(TENANT, type, value), profileId },
  ], receivedAt);
  return JSON.parse(r.value);
}

/** Every table of the database as text, with the values found in each. */
async function valuesFound(values: string[]): Promise<Record<string, string[]>> {
  const tables: Array<{ table_name: string }> = await fx.dataSource.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['profiles', 'identifiers', 'profile_events', 'consents', 'erased_identifiers']));
  const found: Record<string, string[]> = {};
  for (const { table_name } of tables) {
    if (table_name === 'log_records') continue; // redacted by erasure-log, not here
    const rows: Array<{ t: string }> = await fx.dataSource.query(`SELECT t::text AS t FROM "${table_name}" t`);
    const text = rows.map((r) => r.t).join('\n').toLowerCase();
    const hits = values.filter((v) => text.includes(v.toLowerCase()) || text.includes(JSON.stringify(v).slice(1, -1).toLowerCase()));
    if (hits.length) found[table_name] = hits;
  }
  return found;
}

describe('applyErasure', () => {
  it('given a merged person, when erased by an identifier with no hint, then none of their values is left in any table and Bob is intact', async () => {
    const { ann, annMerged, bob } = await projectPeople();
    expect(Object.keys(await valuesFound(ANN))).toEqual(expect.arrayContaining(['profiles', 'identifiers', 'profile_events', 'consents']));
    const bobBefore = await fx.dataSource.query(`SELECT * FROM profiles WHERE id = $1`, [bob]);

    const erasure = erasureOf('email', 'ann.work@example.com', null);
    await runInTransaction(fx.dataSource, (m) => applyErasure(m, erasure, hasher));

    expect(await valuesFound(ANN)).toEqual({});
    expect(await fx.dataSource.query(`SELECT id FROM profiles WHERE id = ANY ($1)`, [[ann, annMerged]])).toEqual([]);
    expect(await fx.dataSource.query(`SELECT * FROM identity_warnings WHERE profile_id = ANY ($1)`, [[ann, annMerged]])).toEqual([]);
    // Bob: every value, his profile row unchanged, his event and consent kept.
    expect(Object.keys(await valuesFound(BOB)).sort()).toEqual(['consents', 'identifiers', 'profile_events', 'profiles']);
    expect(await fx.dataSource.query(`SELECT * FROM profiles WHERE id = $1`, [bob])).toEqual(bobBefore);
    // Ann's consents survive as hashes only (an opt-out still holds).
    const consents: Array<{ type: string; value: string | null; consent: boolean }> = await fx.dataSource.query(
      `SELECT type, value, consent FROM consents WHERE value_hash = ANY ($1) ORDER BY type`,
      [[hasher.hash(TENANT, 'email', 'ann@example.com'), hasher.hash(TENANT, 'phone', '+15551234567')]],
    );
    expect(consents).toEqual([{ type: 'email', value: null, consent: false }, { type: 'phone', value: null, consent: false }]);
    // The request row names the survivor, never a value.
    const [request] = await fx.dataSource.query(`SELECT * FROM erasure_requests WHERE id = $1`, [erasure.requestId]);
    expect(request).toMatchObject({ profile_id: ann, identifier_type: 'email', identifier_hash: erasure.identifierHash, completed_at: null });
    expect(request.applied_at).toBeInstanceOf(Date);
  });

  it('given an erased person, when erasedSince is asked about their identifiers, then every one answers erased_at = the request time', async () => {
    const { ann, annMerged } = await projectPeople();
    const receivedAt = new Date('2026-12-02T20:30:00.000Z');
    await runInTransaction(fx.dataSource, (m) => applyErasure(m, erasureOf('phone', '+15551234567', annMerged, receivedAt), hasher));
    const refs = [
      ['email', 'ann@example.com'], ['email', 'ann.work@example.com'], ['email', 'zoë@example.com'], ['phone', '+15551234567'],
      ['vuid', 'vuid-ann-1'], ['customer_id', 'cust-ann-42'], ['zaius_id', ann], ['zaius_id', annMerged], ['email', 'bob@example.com'],
    ].map(([type, value]) => ({ tenant: TENANT, type, hash: hasher.hash(TENANT, type, value) }));
    const erased = await fx.dataSource.transaction((m) => erasedSince(m, refs));
    expect(erased.size).toBe(refs.length - 1);
    for (const r of refs.slice(0, -1)) expect(erased.get(erasedKey(r.tenant, r.type, r.hash))).toBe(receivedAt.getTime());
    expect(erased.has(erasedKey(TENANT, 'email', refs[refs.length - 1].hash))).toBe(false);
    expect(await fx.dataSource.transaction((m) => erasedSince(m, []))).toEqual(new Map());
  });

  it('given an identifier no profile holds, when erased, then only it is recorded as erased (and its consent loses the value)', async () => {
    await projectPeople();
    await fx.dataSource.query(
      `INSERT INTO consents (tenant, type, value_hash, value, consent, reason, update_ts, record_id) VALUES ($1, 'email', $2, 'nobody@example.com', true, null, now(), 'r')`,
      [TENANT, hasher.hash(TENANT, 'email', 'nobody@example.com')],
    );
    const counts = async () => (await fx.dataSource.query(`SELECT (SELECT count(*) FROM profiles) AS p, (SELECT count(*) FROM identifiers) AS i`))[0];
    const before = await counts();
    const erasure = erasureOf('email', 'nobody@example.com', null);
    await runInTransaction(fx.dataSource, (m) => applyErasure(m, erasure, hasher));
    expect(await counts()).toEqual(before);
    expect(await fx.dataSource.query(`SELECT type, hash FROM erased_identifiers`)).toEqual([{ type: 'email', hash: erasure.identifierHash }]);
    expect(await valuesFound(['nobody@example.com'])).toEqual({});
    expect(await fx.dataSource.query(`SELECT profile_id FROM erasure_requests`)).toEqual([{ profile_id: null }]);
  });

  it('given an applied erasure, when applied again (redelivery, replay), then nothing changes but applied_at and completed_at is kept', async () => {
    await projectPeople();
    const erasure = erasureOf('vuid', 'vuid-ann-1', null);
    await runInTransaction(fx.dataSource, (m) => applyErasure(m, erasure, hasher));
    await fx.dataSource.query(`UPDATE erasure_requests SET completed_at = now()`);
    const state = async () => ({
      profiles: await fx.dataSource.query(`SELECT * FROM profiles ORDER BY id`),
      identifiers: await fx.dataSource.query(`SELECT * FROM identifiers ORDER BY type, value`),
      erased: await fx.dataSource.query(`SELECT * FROM erased_identifiers ORDER BY type, hash`),
      request: await fx.dataSource.query(`SELECT id, profile_id, completed_at FROM erasure_requests`),
    });
    const once = await state();
    await runInTransaction(fx.dataSource, (m) => applyErasure(m, erasure, hasher));
    expect(await state()).toEqual(once);
    expect(await requests.status(TENANT, erasure.requestId)).toBe('COMPLETED');
  });

  it('given a later erasure of the same identifier, then erased_at keeps the later time, whatever order they apply in', async () => {
    await projectPeople();
    const early = erasureOf('email', 'bob@example.com', null, new Date('2026-01-01T00:00:00.000Z'));
    const late = erasureOf('email', 'bob@example.com', null, new Date('2026-06-01T00:00:00.000Z'));
    await runInTransaction(fx.dataSource, (m) => applyErasure(m, late, hasher));
    await runInTransaction(fx.dataSource, (m) => applyErasure(m, early, hasher));
    const erased = await fx.dataSource.transaction((m) => erasedSince(m, [{ tenant: TENANT, type: 'email', hash: late.identifierHash }]));
    expect([...erased.values()]).toEqual([Date.parse('2026-06-01T00:00:00.000Z')]);
  });

  it('given an erasure by zaius_id of a merged-away profile, then the whole person goes', async () => {
    const { ann, annMerged } = await projectPeople();
    await runInTransaction(fx.dataSource, (m) => applyErasure(m, erasureOf('zaius_id', annMerged, ann), hasher));
    expect(await valuesFound(ANN)).toEqual({});
    expect(Object.keys(await valuesFound(BOB))).toHaveLength(4);
  });
});

describe('findIdentifierHolder (HMAC in SQL)', () => {
  it('hashes like IdentifierHasher, non-ASCII values included', async () => {
    const { ann } = await projectPeople();
    expect(await findIdentifierHolder(fx.dataSource.manager, hasher, TENANT, 'email', hasher.hash(TENANT, 'email', 'zoë@example.com'))).toBe(ann);
    expect(await findIdentifierHolder(fx.dataSource.manager, hasher, TENANT, 'email', hasher.hash(TENANT, 'email', 'nobody@example.com'))).toBeUndefined();
    expect(await findIdentifierHolder(fx.dataSource.manager, hasher, 'other', 'email', hasher.hash(TENANT, 'email', 'ann@example.com'))).toBeUndefined();
  });
});
