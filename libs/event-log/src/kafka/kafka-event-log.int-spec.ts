// The shared EventLog conformance suite against Kafka: the run's real broker (KAFKA_BROKERS, a KRaft
// container, or the JVM broker from Maven jars), else the go-mokapi wire-protocol mock (DESIGN §13).
import { randomBytes } from 'node:crypto';
import {
  MOKAPI_CLIENT_SETTINGS,
  planKafkaTestKind,
  startKafkaForTests,
  type KafkaTestCluster,
} from '../../../../test/support/kafka/kafka-test-cluster';
import { CONFORMANCE_TOPICS, describeEventLogConformance } from '../conformance/event-log.conformance';
import { KafkaEventLog } from './kafka-event-log';
import { consoleWarnLogger, silentLogger } from './kafka-logger';

const kind = planKafkaTestKind();
const run = randomBytes(3).toString('hex');
const topicName = (base: string) => `tessera.conformance.${base}.${run}`;
let cluster: KafkaTestCluster | undefined;

describeEventLogConformance(`kafka (${kind})`, {
  create: async () => {
    if (!cluster) throw new Error('Kafka test cluster not started');
    return new KafkaEventLog({
      brokers: cluster.brokers,
      clientId: 'conformance',
      logger: process.env.TESSERA_TEST_KAFKA_LOGS ? consoleWarnLogger : silentLogger,
      // Against mokapi: no idempotent producer and fast group heartbeats (its quirks, see the constant).
      ...(cluster.kind === 'mokapi' ? MOKAPI_CLIENT_SETTINGS : {}),
    });
  },
  topicName,
  limits: {
    // Full size (10,000) on every kind: with its dashboard search index switched off (see
    // mokapi-server.ts) mokapi takes ~8-10k records/s in and ~19k/s out, so this case costs ~3 s.
    // Were that to change, `kind === 'mokapi' ? 300 : undefined` is the knob.
    roundTripRecords: undefined,
    // Topics are created up front (mokapi serves only what its AsyncAPI file declares); ensureTopics
    // still runs and must find them existing, which exercises its idempotent path.
    canCreateTopics: true,
    // mokapi has no topic configs (DescribeConfigs / AlterConfigs): nothing can be compacted there.
    redaction: kind !== 'mokapi',
  },
  // Every topic now: mokapi only serves topics declared in the AsyncAPI file it starts with, and on a
  // real broker the run-unique names keep this suite apart from others sharing it.
  setup: async () => {
    cluster = await startKafkaForTests(CONFORMANCE_TOPICS.map((t) => ({ name: topicName(t.base), partitions: t.partitions })));
  },
  teardown: async () => {
    await cluster?.stop();
  },
});
