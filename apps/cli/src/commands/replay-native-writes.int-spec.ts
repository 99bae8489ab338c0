// Issue 11, "Done when": writes through the native API (profile-change.v1), /v3 upserts and events
// interleave on one log; the live projection equals a replay of that log, ids and outcomes included.
import type { ModuleRef } from '@nestjs/core';
import { buildEventRecords, contactIdOf, PROFILE_UPSERTS_TOPIC, validateEventBody } from '@tessera/contracts';
import { ConsumerHandle } from '@tessera/event-log';
import { IdentifierRules } from '@tessera/identity';
import { ComplianceService } from '@tessera/privacy';
import type { ProfileChangeCommand, ProfileWriteResult } from '@tessera/profile-api/profile-writes/profile-writes.port';
import { ProfileWritesService } from '@tessera/profile-api/profile-writes/profile-writes.service';
import { ProfileIngestService } from '@tessera/profile-ingest';
import { PROFILE_PROJECTOR_GROUP, ProfileProjector } from '@tessera/profile-projection';
import { Infrastructure, TenantRateLimiter, TesseraLogger } from '@tessera/runtime';
import { createLogger } from '@tessera/runtime/logger';
import { ProfileQueryRepository } from '@tessera/store';
import { createProjectionFixture, encodeUpserts, projectionState, ProjectionFixture, silentLogger } from '@tessera/testing/projection-fixture';
import { replayProjections } from './replay.command';

const rules = IdentifierRules.defaults();
const logger = { warn: () => undefined, info: () => undefined, error: () => undefined, debug: () => undefined } as unknown as TesseraLogger;
let fx: ProjectionFixture;
let consumer: ConsumerHandle;
let projector: ProfileProjector;
let writes: ProfileWritesService;
let query: ProfileQueryRepository;

beforeAll(async () => {
  fx = await createProjectionFixture(4);
  query = new ProfileQueryRepository(fx.dataSource);
  projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
  consumer = await fx.eventLog.consume({
    groupId: PROFILE_PROJECTOR_GROUP,
    topics: [PROFILE_UPSERTS_TOPIC],
    resolveStartOffset: (t, p) => projector.startOffset(t, p),
    handleBatch: (b) => projector.handleBatch(b),
  });
  const limiter = new TenantRateLimiter(fx.tenants, { itemsPerSecond: 10_000, burst: 10_000 });
  const ingest = new ProfileIngestService(fx.eventLog, fx.tenants, logger, 5000, limiter);
  const compliance = new ComplianceService(fx.dataSource, fx.tenants, { get: () => ingest } as unknown as ModuleRef, logger);
  compliance.onModuleInit();
  writes = new ProfileWritesService(fx.dataSource, fx.eventLog, fx.tenants, { syncWriteTimeoutMs: 15_000, produceTimeoutMs: 5_000 }, undefined, (tenant, body) =>
    compliance.requestErasure(tenant, 'gdpr', body),
  );
});
afterAll(async () => {
  await consumer?.stop();
  await fx.close();
});

/** Upserts and events of one request each, then waits until the live projector applied everything. */
async function ingest(upserts: Array<Record<string, unknown>>, events: Array<Record<string, unknown>> = []): Promise<void> {
  const records = [...encodeUpserts(upserts)];
  if (events.length) {
    const receivedAt = new Date();
    const v = validateEventBody(events, rules, { receivedAt });
    if (!v.ok) throw new Error(JSON.stringify(v));
    records.push(...buildEventRecords('default', v.items, receivedAt, rules));
  }
  await fx.eventLog.produce(PROFILE_UPSERTS_TOPIC, records);
  await caughtUp();
}

async function caughtUp(): Promise<void> {
  const ends = await fx.eventLog.endOffsets(PROFILE_UPSERTS_TOPIC);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const done = await Promise.all(ends.map(async (e) => (await projector.startOffset(PROFILE_UPSERTS_TOPIC, e.partition)) >= e.offset));
    if (done.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error('projection did not catch up');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function idOf(type: string, value: string): Promise<string> {
  const p = await query.findByIdentifier('default', type, value);
  if (!p) throw new Error(`no profile for ${type}`);
  return p.id;
}

type Command = ProfileChangeCommand extends infer C ? (C extends unknown ? Omit<C, 'tenant'> : never) : never;
const submit = (command: Command): Promise<ProfileWriteResult> => writes.submit({ tenant: 'default', ...command } as ProfileChangeCommand);
const idFrom = (r: ProfileWriteResult): string => {
  if (r.state !== 'applied') throw new Error(`expected applied, got ${JSON.stringify(r)}`);
  return r.profileId;
};

async function fullState() {
  return {
    ...(await projectionState(fx.dataSource)),
    outcomes: await fx.dataSource.query(`SELECT record_id, tenant, state, profile_id, owner_id, field, contact_id FROM profile_write_outcomes ORDER BY record_id`),
  };
}

describe('given native writes, /v3 upserts and events interleaved on one log', () => {
  it('when the log is replayed, then the projections and write outcomes are identical to the live ones, ids included', async () => {
    const people = Array.from({ length: 24 }, (_, i) => i);
    // Round 1: /v3 people, some with phones and devices, and events that link devices.
    await ingest(
      people.map((i) => ({ email: `p${i}@mix.example`, first_name: `P${i}`, city: ['Oslo', 'Rome', 'Lima'][i % 3], ...(i % 4 === 0 && { phone: `+1555000${String(i).padStart(4, '0')}` }) })),
      people.filter((i) => i % 3 === 0).map((i) => ({ type: 'visit', identifiers: { email: `p${i}@mix.example`, vuid: `dev-${i}` }, data: { page: `/p/${i}` } })),
    );

    // Native writes, each answered once applied.
    const created = [];
    for (let i = 0; i < 6; i++) {
      created.push(idFrom(await submit({ op: 'create', attributes: { email: `n${i}@mix.example`, username: `user${i}`, plan: 'pro' }, tags: [`t${i}`], status: i % 2 ? 'active' : 'suspended', password: `password-${i}-x`, customer: 'co-1', isPrimary: i === 1 })));
    }
    expect(await submit({ op: 'create', attributes: { email: 'P3@mix.example' } })).toMatchObject({ state: 'conflict', field: 'attributes.email', ownerId: await idOf('email', 'p3@mix.example') });
    expect(await submit({ op: 'create', attributes: { email: 'fresh@mix.example', username: 'user2' } })).toMatchObject({ state: 'conflict', field: 'attributes.username', ownerId: created[2] });
    const p1 = await idOf('email', 'p1@mix.example');
    expect(idFrom(await submit({ op: 'patch', attributes: { city: 'Bergen', username: 'p1-user' }, profileId: p1, status: 'closed' }))).toBe(p1);
    const p2 = await idOf('email', 'p2@mix.example');
    idFrom(await submit({ op: 'replace', profileId: p2, attributes: { email: 'p2@mix.example', nickname: 'two' }, tags: ['replaced'] }));
    const p4 = await idOf('email', 'p4@mix.example');
    idFrom(await submit({ op: 'link-contact', profileId: p4, contact: { type: 'phone', value: '+47 22 33 44 55' } }));
    expect(await submit({ op: 'link-contact', profileId: p4, contact: { type: 'email', value: 'p5@mix.example' } })).toMatchObject({ state: 'conflict', field: 'value' });
    const p6 = await idOf('email', 'p6@mix.example');
    idFrom(await submit({ op: 'unlink-contact', profileId: p6, contactId: contactIdOf('default', 'email', 'p6@mix.example') }));
    const p7 = await idOf('email', 'p7@mix.example');
    idFrom(await submit({ op: 'replace-contact', profileId: p7, contactId: contactIdOf('default', 'email', 'p7@mix.example'), contact: { type: 'email', value: 'p7-new@mix.example' } }));

    // Round 2: /v3 upserts meet native profiles (a username, an unlinked email, a replaced one) and events follow.
    await ingest(
      [
        { email: 'n0@mix.example', city: 'Tromsø' },
        { username: 'user3', vip: true },
        { email: 'p6@mix.example', note: 'a new person' },
        { email: 'p7@mix.example', note: 'a new person too' },
        { email: 'p8@mix.example', phone: '+47 22 33 44 55' }, // p4's phone now: p8 and p4 merge
        { username: 'p1-user', email: 'p1.alt@mix.example' },
      ],
      [{ type: 'order', identifiers: { email: 'n1@mix.example', vuid: 'dev-n1' }, data: { total: 5 } }],
    );

    // More native writes, then an erasure through the native DELETE, then writes after it.
    idFrom(await submit({ op: 'patch', profileId: created[0], attributes: { plan: 'basic' }, tags: ['a', 'b'], isPrimary: true }));
    idFrom(await submit({ op: 'replace', profileId: created[3], attributes: { username: 'user3', plan: 'free' } }));
    expect(await writes.erase('default', created[4])).toMatchObject({ state: 'erased' });
    await caughtUp();
    expect(await submit({ op: 'patch', profileId: created[4], attributes: { plan: 'gone' } })).toEqual({ state: 'not-found' });
    await ingest([{ email: 'n4@mix.example', note: 'after the erasure' }]);

    const live = await fullState();
    expect(live.outcomes.length).toBe(16); // 17 writes; the erased person's create lost its row with her
    expect(live.profiles.some((p: { merged_into: string | null }) => p.merged_into)).toBe(true);
    expect(live.events.length).toBeGreaterThan(0);
    await consumer.stop();

    const infra: Infrastructure = {
      env: {} as Infrastructure['env'],
      logger: createLogger('silent'),
      database: { dataSource: fx.dataSource } as Infrastructure['database'],
      eventLog: fx.eventLog,
      tenants: fx.tenants,
      profiles: query,
      close: async () => undefined,
    };
    await replayProjections(infra);
    expect(await fullState()).toEqual(live);
  });
});
