// Issue 8 item 3 on Kafka: a dead letter cannot join the PostgreSQL transaction there, so it is recorded in
// the outbox in the checkpoint's transaction and published after the commit — and, when publishing failed
// (broker unreachable, or a crash between commit and publish), at the next start. Real broker.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { DLQ_HEADER, PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { KafkaEventLog } from '@tessera/event-log';
import { freePort, ProfileQueryRepository } from '@tessera/store';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, silentLogger } from '@tessera/testing/projection-fixture';
import { KafkaTestCluster, startKafkaForTests } from '../../../test/support/kafka/kafka-test-cluster';
import { ProfileProjector } from './profile-projector.service';

let cluster: KafkaTestCluster;
let fx: ProjectionFixture;
const logs: KafkaEventLog[] = [];

beforeAll(async () => {
  cluster = await startKafkaForTests([{ name: PROFILE_UPSERTS_DLQ_TOPIC, partitions: 1 }]);
  fx = await createProjectionFixture();
}, 120_000);

afterAll(async () => {
  await Promise.all(logs.map((l) => l.close()));
  await fx?.close();
  await cluster?.stop();
});

function kafkaLog(brokers: string[], produceTimeoutMs?: number): KafkaEventLog {
  const log = new KafkaEventLog({ brokers, clientId: 'projector-outbox-spec', logger: silentLogger, produceTimeoutMs, connectionTimeoutMs: 500 });
  logs.push(log);
  return log;
}

/** Dead letters on the broker whose key is `key` (the DLQ topic is shared with other tests on this broker). */
async function deadLettersOnKafka(key: string, expected: number): Promise<Array<{ key: string; headers: Record<string, string> }>> {
  const kafka = new Kafka({ brokers: cluster.brokers, clientId: 'projector-outbox-reader', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const [end] = await admin.fetchTopicOffsets(PROFILE_UPSERTS_DLQ_TOPIC);
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: `outbox-reader-${randomUUID()}` });
  const found: Array<{ key: string; headers: Record<string, string> }> = [];
  let seen = 0;
  await consumer.connect();
  await consumer.subscribe({ topic: PROFILE_UPSERTS_DLQ_TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen = Number(message.offset) + 1;
      if (message.key?.toString() !== key) return;
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
      found.push({ key, headers });
    },
  });
  const deadline = Date.now() + 20_000;
  while (seen < Number(end.high) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  // Anything published after the end we read is a duplicate: give it a moment to show up.
  await new Promise((r) => setTimeout(r, expected ? 300 : 0));
  await consumer.disconnect();
  return found;
}

describe('given a poison record while the log is Kafka', () => {
  it('when the broker takes the dead letter after the commit, then it is published once and the outbox is empty', async () => {
    const projector = new ProfileProjector(fx.dataSource, kafkaLog(cluster.brokers), fx.tenants, silentLogger);
    const key = `outbox-ok-${randomUUID()}`;
    const values = encodeUpserts([{ email: 'u@example.com', n: 1 }]);
    const batch = batchOf(0, [values[0], { key, value: '{"no": "record"}', headers: { schema: 'profile-upsert.v1' } }]);
    await projector.handleBatch(batch);
    await projector.handleBatch(batch); // redelivered: already applied, nothing new
    expect((await new ProfileQueryRepository(fx.dataSource).findByIdentifier('default', 'email', 'u@example.com'))?.attributes.n).toBe(1);
    expect(await fx.dataSource.query(`SELECT count(*)::int AS n FROM dead_letter_outbox`)).toEqual([{ n: 0 }]);
    const dead = await deadLettersOnKafka(key, 1);
    expect(dead).toHaveLength(1);
    expect(dead[0].headers).toMatchObject({ [DLQ_HEADER.sourceTopic]: PROFILE_UPSERTS_TOPIC, [DLQ_HEADER.sourcePartition]: '0', [DLQ_HEADER.sourceOffset]: '1' });
  });

  it('when the broker cannot be reached after the commit, then the dead letter waits in the outbox and the next start publishes it once', async () => {
    const unreachable = kafkaLog([`127.0.0.1:${await freePort()}`], 1_500);
    const projector = new ProfileProjector(fx.dataSource, unreachable, fx.tenants, silentLogger);
    const key = `outbox-later-${randomUUID()}`;
    const values = encodeUpserts([{ email: 'v@example.com', n: 1 }]);
    await projector.handleBatch(batchOf(1, [{ key, value: 'nope', headers: {} }, values[0]]));
    expect(await projector.startOffset(PROFILE_UPSERTS_TOPIC, 1)).toBe(2); // applied; the publish failed
    expect(await fx.dataSource.query(`SELECT key FROM dead_letter_outbox`)).toEqual([{ key }]);

    const restarted = new ProfileProjector(fx.dataSource, kafkaLog(cluster.brokers), fx.tenants, silentLogger);
    expect(await restarted.startOffset(PROFILE_UPSERTS_TOPIC, 1)).toBe(2);
    expect(await fx.dataSource.query(`SELECT count(*)::int AS n FROM dead_letter_outbox`)).toEqual([{ n: 0 }]);
    const dead = await deadLettersOnKafka(key, 1);
    expect(dead).toHaveLength(1);
    expect(dead[0].headers[DLQ_HEADER.sourceOffset]).toBe('0');
  }, 60_000);
});
