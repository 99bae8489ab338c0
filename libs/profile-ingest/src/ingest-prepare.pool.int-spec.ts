// Issue 12: bodies prepared on a worker thread (IngestPreparePool) give what preparing them in place gives —
// the same records (ids aside: every record gets a fresh UUID v7) and the same refusals, item indexes and
// messages — under default and custom rules, declared fields and both ingest kinds. The worker is the built
// one (run `node scripts/build.js` first, as for the e2e tests): jest runs TypeScript sources, a thread cannot.
import { existsSync } from 'node:fs';
import { IdentifierRules } from '@tessera/identity';
import { isUuidV7 } from '@tessera/contracts';
import { distPath } from '../../../test/support/paths';
import { EVENT_INGEST, PROFILE_UPSERT_INGEST, type IngestContext, type IngestKind, type IngestLogRecord, type IngestPreparation } from './ingest-kinds';
import { IngestPreparePool, MIN_WORKER_ITEMS } from './ingest-prepare.pool';

const WORKER = distPath('libs/profile-ingest/src/ingest-prepare.worker.js');
let pool: IngestPreparePool;

beforeAll(() => {
  if (!existsSync(WORKER)) throw new Error(`${WORKER} is missing: run node scripts/build.js first`);
  pool = new IngestPreparePool(1, WORKER);
});
afterAll(() => pool.close());

const person = (i: number, extra: Record<string, unknown> = {}) => ({
  attributes: { email: `p.${i}@example.com`, phone: `+1 (555) ${String(i).padStart(7, '0').slice(0, 3)}-${String(i).padStart(7, '0').slice(3)}`, first_name: 'Ana', tags: ['a', 'b'], orders: i, ...extra },
});
const people = (n: number, at: (i: number) => Record<string, unknown> = () => ({})) => Array.from({ length: n }, (_, i) => person(i, at(i)));

/** Records with each record id replaced (ids are fresh per preparation), checked to be UUID v7 first. */
function comparable(p: IngestPreparation) {
  if (!p.ok) return p;
  return {
    ok: true,
    records: p.records.map((r) => {
      expect(isUuidV7(r.key)).toBe(true);
      return { ...r, key: '<id>', value: r.value.split(r.key).join('<id>') };
    }),
  };
}

async function expectSameBothWays(kind: IngestKind, body: unknown, context: IngestContext) {
  const onWorker = pool.prepare(kind, 'tenant-a', body, context);
  expect(onWorker).toBeInstanceOf(Promise);
  expect(comparable(await onWorker)).toEqual(comparable(kind.prepare('tenant-a', body, context)));
  return onWorker;
}

const context = (over: Partial<IngestContext> = {}): IngestContext => ({ rules: IdentifierRules.defaults(), fields: new Map(), receivedAt: new Date('2026-12-03T10:00:00.123Z'), ...over });

describe('given a body of profile upserts large enough for the worker', () => {
  it('when every item is valid, then the records equal those prepared in place', async () => {
    const prepared = await expectSameBothWays(PROFILE_UPSERT_INGEST, people(100, (i) => (i % 3 === 0 ? { ts: 1_700_000_000 + i } : {})), context());
    expect(prepared.ok && prepared.records.length).toBe(100);
  });

  it('when some items are invalid, then the refusal lists the same items and messages', async () => {
    const body = people(40, (i) => (i === 3 ? { email: 'nope' } : i === 17 ? { Bad: 1, nested: { a: 1 } } : i === 30 ? { ts: 'yesterday' } : {}));
    body[21] = { attributes: { first_name: 'no identifier' } } as never;
    const prepared = await expectSameBothWays(PROFILE_UPSERT_INGEST, body, context());
    expect(!prepared.ok && 'invalids' in prepared.detail && prepared.detail.invalids.map((i) => i.event)).toEqual([3, 17, 21, 30]);
  });

  it('when items carry __proto__ / constructor names, lone surrogates, NUL or -0, then the clone keeps them and the refusals are the same', async () => {
    // JSON.parse makes `__proto__` an own property; a structured clone must not turn it into a prototype.
    const items = [
      '{"attributes":{"email":"a@example.com","__proto__":{"x":1}}}',
      '{"attributes":{"email":"b@example.com","constructor":1}}',
      '{"attributes":{"email":"c@example.com","name":"\\ud800"}}',
      '{"attributes":{"email":"d@example.com","name":"a\\u0000b"}}',
      '{"attributes":{"email":"e@example.com","score":-0,"big":1e308}}',
    ];
    const body = JSON.parse(`[${[...items, ...people(15).map((p) => JSON.stringify(p))].join(',')}]`) as unknown[];
    const prepared = await expectSameBothWays(PROFILE_UPSERT_INGEST, body, context());
    expect(!prepared.ok && 'invalids' in prepared.detail && prepared.detail.invalids.map((i) => i.event)).toEqual([0, 1, 2, 3]);
  });

  it('when the array is over the item limit, then the body refusal is the same', async () => {
    const prepared = await expectSameBothWays(PROFILE_UPSERT_INGEST, people(501), context());
    expect(!prepared.ok && 'message' in prepared.detail).toBe(true);
  });

  it('when the tenant has custom identifier types, a phone region and declared fields, then the worker applies them as in place', async () => {
    const rules = IdentifierRules.defaults()
      .withCustomTypes([{ type: 'loyalty_id', confidence: 'high', perProfileLimit: 1 }, { type: 'device_id', confidence: 'low', perProfileLimit: null }])
      .withDefaultRegion('GB');
    const fields = new Map([['orders', 'number' as const], ['first_name', 'string' as const]]);
    const ok = people(20, (i) => ({ loyalty_id: ` L-${i} `, device_id: `d${i}`, phone: i % 2 ? '020 7946 0958' : '+1 555 867 5309' }));
    await expectSameBothWays(PROFILE_UPSERT_INGEST, ok, context({ rules, fields }));
    const bad = people(20, (i) => (i === 5 ? { orders: 'many' } : i === 6 ? { loyalty_id: 7 } : {}));
    const refused = await expectSameBothWays(PROFILE_UPSERT_INGEST, bad, context({ rules, fields }));
    expect(refused.ok).toBe(false);
  });
});

describe('given a body of events large enough for the worker', () => {
  it('when valid and when not, then records and refusals equal those prepared in place', async () => {
    const events = Array.from({ length: 30 }, (_, i) => ({ type: 'order', action: 'purchase', identifiers: { email: `e.${i}@example.com`, vuid: `v-${i}` }, data: { ts: 1_700_000_000 + i, total: i + 0.5 } }));
    await expectSameBothWays(EVENT_INGEST, events, context());
    await expectSameBothWays(EVENT_INGEST, [...events.slice(0, 20), { type: '', identifiers: {} }], context());
  });
});

describe('given bodies the worker does not take', () => {
  it(`when a body has fewer than ${MIN_WORKER_ITEMS} items or is one object, then it is prepared in place (no promise)`, () => {
    expect(pool.prepare(PROFILE_UPSERT_INGEST, 'tenant-a', people(MIN_WORKER_ITEMS - 1), context())).not.toBeInstanceOf(Promise);
    expect(pool.prepare(PROFILE_UPSERT_INGEST, 'tenant-a', person(1), context())).not.toBeInstanceOf(Promise);
  });

  it('when many bodies arrive at once, then those beyond the worker queue are prepared in place and every answer is right', async () => {
    const pool = new IngestPreparePool(1, WORKER, 3);
    const bodies = Array.from({ length: 12 }, (_, b) => people(50, (i) => ({ email: `b${b}.${i}@example.com` })));
    const results = bodies.map((body) => pool.prepare(PROFILE_UPSERT_INGEST, 'tenant-a', body, context()));
    expect(results.filter((r) => r instanceof Promise).length).toBeLessThan(bodies.length);
    expect(results.filter((r) => r instanceof Promise).length).toBeGreaterThanOrEqual(3);
    for (const [b, r] of (await Promise.all(results)).entries()) expect(comparable(r)).toEqual(comparable(PROFILE_UPSERT_INGEST.prepare('tenant-a', bodies[b], context())));
    await pool.close();
  });

  it('when the worker cannot start, then the body fails (nothing is published) and a later body gets a new worker', async () => {
    const broken = new IngestPreparePool(1, distPath('libs/profile-ingest/src/no-such-worker.js'));
    await expect(broken.prepare(PROFILE_UPSERT_INGEST, 'tenant-a', people(20), context())).rejects.toThrow();
    await expect(broken.prepare(PROFILE_UPSERT_INGEST, 'tenant-a', people(20), context())).rejects.toThrow();
    await broken.close();
  });
});

describe('given a kind made for one request (consent, compliance: a closure over its records)', () => {
  it('when its body is large, then it is prepared in place, not handed to a worker that cannot know it', () => {
    const records = [{ key: 'k', partitionKey: 'p', value: 'v', headers: {} }] as unknown as IngestLogRecord[];
    const oneOff: IngestKind = { name: 'consent', prepare: () => ({ ok: true, records }) };
    const prepared = pool.prepare(oneOff, 'tenant-a', people(MIN_WORKER_ITEMS + 85), context());
    expect(prepared).not.toBeInstanceOf(Promise);
    expect(prepared).toEqual({ ok: true, records });
  });
});
