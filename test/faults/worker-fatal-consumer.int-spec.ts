// Issue 8 items 2 and 8: a worker whose consumer-group member stopped for good (KafkaJS will not
// restart it) must not live on as a healthy-looking idle process: the EventLog transport reports it,
// the worker stops in order and exits non-zero, so an orchestrator restarts it.
//
// The member is made to fail for good the way the Kafka adapter's own test does: a member of another
// kind holds the projector's group with a partition assignor ours does not speak, and the broker answers
// our JoinGroup INCONSISTENT_GROUP_PROTOCOL, which KafkaJS does not retry.
import { spawn } from 'node:child_process';
import { AssignerProtocol, Kafka, logLevel, PartitionAssigners, type Consumer, type PartitionAssigner } from 'kafkajs';
import { PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { PROFILE_PROJECTOR_GROUP } from '@tessera/profile-projection';
import { freePort } from '../support/ports';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startKafkaForTests, type DedicatedKafkaCluster } from '../support/kafka/kafka-test-cluster';
import { distPath } from '../support/paths';

const foreignAssigner: PartitionAssigner = (config) => {
  const roundRobin = PartitionAssigners.roundRobin(config);
  return {
    ...roundRobin,
    name: 'ForeignAssigner',
    protocol: ({ topics }) => ({ name: 'ForeignAssigner', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) }),
  };
};

describe('given the projector group held by a member the worker cannot join', () => {
  let broker: DedicatedKafkaCluster;
  let db: TestDatabase;
  let foreign: Consumer | undefined;

  beforeAll(async () => {
    [broker, db] = await Promise.all([
      startKafkaForTests(
        [
          { name: PROFILE_UPSERTS_TOPIC, partitions: 2 },
          { name: PROFILE_UPSERTS_DLQ_TOPIC, partitions: 1 },
        ],
        { dedicated: true },
      ),
      createTestDatabase('wfatal'),
    ]);
  }, 90_000);

  afterAll(async () => {
    await foreign?.disconnect();
    await broker?.stop();
    await db?.drop();
  });

  it('when the worker starts, then it logs why, stops in order and exits non-zero instead of idling', async () => {
    const kafka = new Kafka({ brokers: broker.brokers, clientId: 'worker-fatal-spec', logLevel: logLevel.NOTHING });
    foreign = kafka.consumer({ groupId: PROFILE_PROJECTOR_GROUP, partitionAssigners: [foreignAssigner], sessionTimeout: 30_000, heartbeatInterval: 1_000 });
    await foreign.connect();
    await foreign.subscribe({ topics: [PROFILE_UPSERTS_TOPIC] });
    const joined = new Promise<void>((resolve) => foreign!.on(foreign!.events.GROUP_JOIN, () => resolve()));
    await foreign.run({ eachBatch: async () => undefined });
    await joined;

    const port = await freePort();
    const child = spawn(process.execPath, [distPath('apps/worker/src/main.js')], {
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        KAFKA_BROKERS: broker.brokers.join(','),
        TESSERA_KAFKA_REPLICATION_FACTOR: '1',
        TESSERA_KAFKA_MIN_INSYNC_REPLICAS: '1',
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    if (code !== 1) throw new Error(`the worker ended with code ${code}, signal ${child.signalCode}; expected exit code 1. Output:\n${out}`);
    expect(out).toMatch(new RegExp(`group ${PROFILE_PROJECTOR_GROUP.replace(/\./g, '\\.')} stopped for good.*INCONSISTENT_GROUP_PROTOCOL`));
    expect(out).toMatch(/"msg":"stopped"/); // the orderly shutdown ran (HTTP closed, consumers stopped, database closed)
  }, 60_000);
});
