// DESIGN §9–§11: every record kind applied by the projector in one order — events resolve like
// upserts and are kept per profile, idempotence ids suppress repeats within the window, an erasure
// removes the person and cuts off their records received before it, consents keep only a hash after it.
import { randomUUID } from 'node:crypto';
import {
  buildConsentRecords,
  buildErasureRecords,
  buildEventRecords,
  PROFILE_UPSERTS_TOPIC,
  validateEventBody,
} from '@tessera/contracts';
import { RecordBatch } from '@tessera/event-log';
import { IdentifierRules } from '@tessera/identity';
import { IdentifierHasher, ProfileQueryRepository } from '@tessera/store';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, silentLogger } from '@tessera/testing/projection-fixture';
import { ProfileProjector } from './profile-projector.service';

const rules = IdentifierRules.defaults();
let fx: ProjectionFixture;
let projector: ProfileProjector;
let query: ProfileQueryRepository;
let hasher: IdentifierHasher;

beforeEach(async () => {
  fx = await createProjectionFixture(1);
  projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger, undefined, { idempotencyWindowMs: 60 * 60 * 1000 });
  query = new ProfileQueryRepository(fx.dataSource);
  hasher = await IdentifierHasher.load(fx.dataSource);
});

afterEach(async () => {
  await fx.close();
});

type Encoded = { key: string; value: string; headers: Record<string, string> };

function events(items: Array<Record<string, unknown>>, receivedAt = new Date()): Encoded[] {
  const v = validateEventBody(items, rules, { receivedAt });
  if (!v.ok) throw new Error(JSON.stringify(v));
  return buildEventRecords('default', v.items, receivedAt, rules);
}

function erasure(type: string, value: string, receivedAt = new Date()): Encoded[] {
  return buildErasureRecords('default', 'gdpr', [{ requestId: randomUUID(), requester: 'dpo@example.com', identifierType: type, identifierValue: value, identifierHash: hasher.hash('default', type, value), profileId: null }], receivedAt);
}

function consent(type: string, value: string, given: boolean, receivedAt = new Date(), updateTs = receivedAt): Encoded[] {
  return buildConsentRecords('default', [{ identifierType: type, identifierValue: value, consent: given, reason: 'form', updateTs }], receivedAt, hasher);
}

/** Upserts received at a given time (ingest stamps receivedAt; the cut-off compares it). */
function upsertsAt(items: Array<Record<string, unknown>>, receivedAt: Date): Encoded[] {
  return encodeUpserts(items).map((r) => {
    const value = JSON.parse(r.value) as Record<string, unknown>;
    return { ...r, value: JSON.stringify({ ...value, receivedAt: receivedAt.toISOString(), ts: receivedAt.toISOString() }) };
  });
}

let offset = 0;
function next(records: Encoded[]): RecordBatch {
  const batch = batchOf(0, records, offset);
  offset += records.length;
  return batch;
}
beforeEach(() => (offset = 0));

async function eventRows(): Promise<Array<{ id: string; profile_id: string; type: string }>> {
  return fx.dataSource.query(`SELECT id, profile_id, type FROM profile_events ORDER BY id`);
}

describe('given events carrying identifiers', () => {
  it('when applied, then they create, link and merge profiles exactly like upserts and are kept under the profile, following merges', async () => {
    await projector.handleBatch(next([
      ...events([{ type: 'pageview', identifiers: { vuid: 'dev-1' }, data: { page: '/home' } }]),
      ...encodeUpserts([{ email: 'ann@example.com', first_name: 'Ann' }]),
      ...events([{ type: 'order', action: 'purchase', identifiers: { email: 'Ann@Example.com', vuid: 'dev-1' }, data: { total: 12.5 } }]),
    ]));
    const ann = await query.findByIdentifier('default', 'email', 'ann@example.com');
    expect(ann?.identifiers).toEqual({ email: ['ann@example.com'], vuid: ['dev-1'] });
    expect(ann?.attributes).toMatchObject({ first_name: 'Ann', vuid: 'dev-1' });
    expect(ann?.attributes).not.toHaveProperty('page'); // event data is not a profile attribute
    // The anonymous profile of the pageview merged into Ann: its event reads through merged_into.
    const rows = await eventRows();
    expect(rows.map((r) => r.type)).toEqual(['pageview', 'order']);
    const [owners] = await fx.dataSource.query(
      `SELECT count(*)::int AS n FROM profile_events e JOIN profiles p ON p.tenant = e.tenant AND p.id = e.profile_id WHERE coalesce(p.merged_into, p.id) = $1`,
      [ann!.id],
    );
    expect(owners.n).toBe(2);
  });

  it('when an idempotence_id repeats within the window, in the batch or later, then it has no effect; after the window it applies again', async () => {
    const t0 = new Date(Date.now() - 3 * 60 * 60 * 1000);
    const sdkBatch = (at: Date) => events([
      { type: 'fullstack', action: 'identified', identifiers: { vuid: 'v-9', email: 'sdk@example.com' }, data: { idempotence_id: 'a-1' } },
      { type: 'fullstack', action: 'identified', identifiers: { vuid: 'v-9' }, data: { idempotence_id: 'a-1' } },
    ], at);
    await projector.handleBatch(next(sdkBatch(t0)));
    await projector.handleBatch(next(sdkBatch(new Date(t0.getTime() + 30 * 60 * 1000)))); // SDK retry, 30 min later
    expect(await eventRows()).toHaveLength(1);
    expect(projector.stats.repeatedEvents).toBe(3);
    await projector.handleBatch(next(sdkBatch(new Date(t0.getTime() + 2 * 60 * 60 * 1000)))); // 2 h later: window of 1 h passed
    expect(await eventRows()).toHaveLength(2);
  });
});

describe('given an erasure on the log', () => {
  it('when applied, then the person is gone; their records received before it are dropped when applied later; records after it start a new profile', async () => {
    const before = new Date(Date.now() - 60_000);
    const erasedAt = new Date(Date.now() - 30_000);
    const after = new Date();
    await projector.handleBatch(next([
      ...upsertsAt([{ email: 'gone@example.com', vuid: 'v-gone', first_name: 'Gone' }], before),
      ...events([{ type: 'visit', identifiers: { email: 'gone@example.com' }, data: {} }], before),
      ...consent('email', 'gone@example.com', false, before),
      ...upsertsAt([{ email: 'stay@example.com', first_name: 'Stay' }], before),
    ]));
    const goneId = (await query.findByIdentifier('default', 'email', 'gone@example.com'))!.id;
    await projector.handleBatch(next([
      ...erasure('email', 'gone@example.com', erasedAt),
      // Received before the erasure, applied after it (a lagging ingest): dropped, even through the vuid only.
      ...upsertsAt([{ vuid: 'v-gone', city: 'Paris' }], before),
      // A newer consent received before the erasure, applied after it: it wins, by hash only.
      ...consent('email', 'gone@example.com', true, before, new Date(before.getTime() + 1000)),
    ]));
    expect(await query.findByIdentifier('default', 'email', 'gone@example.com')).toBeNull();
    expect(await query.findByIdentifier('default', 'vuid', 'v-gone')).toBeNull();
    expect(projector.stats.droppedErased).toBe(1);
    const dump = JSON.stringify(await fx.dataSource.query(
      `SELECT (SELECT json_agg(p) FROM profiles p) AS p, (SELECT json_agg(i) FROM identifiers i) AS i, (SELECT json_agg(e) FROM profile_events e) AS e,
              (SELECT json_agg(w) FROM identity_warnings w) AS w, (SELECT json_agg(c) FROM consents c) AS c`,
    ));
    for (const value of ['gone@example.com', 'v-gone', 'Gone', goneId]) expect(dump).not.toContain(value);
    expect(dump).toContain('stay@example.com');
    const consents = await fx.dataSource.query(`SELECT value, consent FROM consents`);
    expect(consents).toEqual([{ value: null, consent: true }]); // kept by hash only

    await projector.handleBatch(next(upsertsAt([{ email: 'gone@example.com', first_name: 'New' }], after)));
    const reborn = await query.findByIdentifier('default', 'email', 'gone@example.com');
    expect(reborn?.attributes).toEqual({ email: 'gone@example.com', first_name: 'New' });
    expect(reborn?.id).not.toBe(goneId);
  });

  it('when the erasure sits between records of one batch, then the records before it are erased and those after it apply to a new profile', async () => {
    const erasedAt = new Date(Date.now() - 30_000);
    const later = new Date();
    await projector.handleBatch(next([
      ...upsertsAt([{ email: 'mid@example.com', first_name: 'Old' }], new Date(Date.now() - 60_000)),
      ...erasure('email', 'mid@example.com', erasedAt),
      ...upsertsAt([{ email: 'mid@example.com', last_name: 'Later' }], later),
    ]));
    const p = await query.findByIdentifier('default', 'email', 'mid@example.com');
    expect(p?.attributes).toEqual({ email: 'mid@example.com', last_name: 'Later' });
  });
});
