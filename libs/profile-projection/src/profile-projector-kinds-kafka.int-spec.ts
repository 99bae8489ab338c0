// DESIGN §9–§11 on a real Kafka broker: upserts, events (with an SDK retry), consent and an erasure
// produced to the event store and consumed by the projector as a group member, in one order per partition.
import { randomUUID } from 'node:crypto';
import {
  buildConsentRecords,
  buildErasureRecords,
  buildEventRecords,
  buildProfileUpsertRecords,
  PROFILE_UPSERTS_TOPIC,
  validateEventBody,
  validateProfileUpsertBody,
} from '@tessera/contracts';
import { KafkaEventLog, LogRecordInput } from '@tessera/event-log';
import { IdentifierRules } from '@tessera/identity';
import { IdentifierHasher, ProfileQueryRepository } from '@tessera/store';
import { createProjectionFixture, ProjectionFixture, silentLogger } from '@tessera/testing/projection-fixture';
import { KafkaTestCluster, startKafkaForTests } from '../../../test/support/kafka/kafka-test-cluster';
import { ProfileProjector } from './profile-projector.service';

const rules = IdentifierRules.defaults();
const tenant = `kinds${process.pid}`;
let cluster: KafkaTestCluster;
let fx: ProjectionFixture;
let log: KafkaEventLog;

beforeAll(async () => {
  cluster = await startKafkaForTests([{ name: PROFILE_UPSERTS_TOPIC, partitions: 2 }]);
  fx = await createProjectionFixture();
  log = new KafkaEventLog({ brokers: cluster.brokers, clientId: 'projector-kinds-spec', logger: silentLogger });
}, 120_000);

afterAll(async () => {
  await log?.close();
  await fx?.close();
  await cluster?.stop();
});

function upserts(items: Array<Record<string, unknown>>, receivedAt = new Date()): LogRecordInput[] {
  const v = validateProfileUpsertBody(items.map((attributes) => ({ attributes })), rules, { receivedAt });
  if (!v.ok) throw new Error(JSON.stringify(v));
  return buildProfileUpsertRecords(tenant, v.items, receivedAt, rules);
}

function events(items: Array<Record<string, unknown>>, receivedAt = new Date()): LogRecordInput[] {
  const v = validateEventBody(items, rules, { receivedAt });
  if (!v.ok) throw new Error(JSON.stringify(v));
  return buildEventRecords(tenant, v.items, receivedAt, rules);
}

describe('given every record kind on a Kafka event store', () => {
  it('when a projector group member consumes them, then events resolve and dedupe, consent is kept, and the erased person is gone', async () => {
    const hasher = await IdentifierHasher.load(fx.dataSource);
    const sdk = [
      { type: 'fullstack', action: 'identified', identifiers: { vuid: 'k-dev', email: 'kim@example.com' }, data: { idempotence_id: 'k-1' } },
      { type: 'fullstack', action: 'viewed', identifiers: { vuid: 'k-dev' }, data: { idempotence_id: 'k-2' } },
    ];
    const before = new Date(Date.now() - 10_000);
    await log.produce(PROFILE_UPSERTS_TOPIC, [
      ...upserts([{ email: 'kim@example.com', first_name: 'Kim' }, { email: 'lee@example.com', vuid: 'l-dev', first_name: 'Lee' }], before),
      ...events(sdk, before),
    ]);
    await log.produce(PROFILE_UPSERTS_TOPIC, events(sdk)); // the SDK's retry of the same batch
    await log.produce(PROFILE_UPSERTS_TOPIC, [
      ...buildConsentRecords(tenant, [{ identifierType: 'email', identifierValue: 'kim@example.com', consent: false, reason: 'unsubscribe', updateTs: new Date() }], new Date(), hasher),
      ...buildErasureRecords(tenant, 'gdpr', [{ requestId: randomUUID(), requester: 'dpo', identifierType: 'email', identifierValue: 'lee@example.com', identifierHash: hasher.hash(tenant, 'email', 'lee@example.com'), profileId: null }], new Date()),
    ]);
    // Lee's record received before the erasure but produced after it (a lagging ingest): dropped.
    await log.produce(PROFILE_UPSERTS_TOPIC, upserts([{ vuid: 'l-dev', city: 'Oslo' }], before));

    const group = `kinds-${randomUUID()}`;
    const projector = new ProfileProjector(fx.dataSource, log, fx.tenants, silentLogger, group);
    const ends = await log.endOffsets(PROFILE_UPSERTS_TOPIC);
    const handle = await log.consume({
      groupId: group,
      topics: [PROFILE_UPSERTS_TOPIC],
      resolveStartOffset: (t, p) => projector.startOffset(t, p),
      handleBatch: (b) => projector.handleBatch(b),
    });
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const done = await Promise.all(ends.map(async (e) => (await projector.startOffset(PROFILE_UPSERTS_TOPIC, e.partition)) >= e.offset));
        if (done.every(Boolean)) break;
        if (Date.now() > deadline) throw new Error('the projector did not reach the end of the log');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await handle.stop();
    }
    const query = new ProfileQueryRepository(fx.dataSource);
    const kim = await query.findByIdentifier(tenant, 'vuid', 'k-dev');
    expect(kim?.identifiers).toEqual({ email: ['kim@example.com'], vuid: ['k-dev'] });
    const kimEvents = await fx.dataSource.query(`SELECT action FROM profile_events WHERE tenant = $1 ORDER BY id`, [tenant]);
    expect(kimEvents).toEqual([{ action: 'identified' }, { action: 'viewed' }]);
    expect(await fx.dataSource.query(`SELECT value, consent FROM consents WHERE tenant = $1`, [tenant])).toEqual([{ value: 'kim@example.com', consent: false }]);
    expect(await query.findByIdentifier(tenant, 'email', 'lee@example.com')).toBeNull();
    expect(await query.findByIdentifier(tenant, 'vuid', 'l-dev')).toBeNull();
    expect(JSON.stringify(await fx.dataSource.query(`SELECT * FROM profiles WHERE tenant = $1`, [tenant]))).not.toContain('Lee');
  });
});
