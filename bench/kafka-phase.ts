/**
 * The bench's Kafka phase (issue 8, DESIGN §13): the same single-node server with KAFKA_BROKERS set,
 * on a real single-node Apache Kafka run from the Maven jars (test/support/kafka/jvm-kafka-broker.ts),
 * with a fresh broker and so a fresh topic set.
 *
 *   kafka-log   the broker alone, through the KafkaEventLog adapter: records/s produced (batches of
 *               `batch` records of the population's item size, idempotent, acks=all, a few batches in
 *               flight) and consumed (a new group from the beginning, the adapter's batches)
 *   kafka-e2e   new people posted as fast as possible to the server on Kafka with its projector
 *               running; items / time from the first POST until the projector's checkpoints (in
 *               PostgreSQL) reach the end offsets of the Kafka topic
 */
import { readFileSync } from 'node:fs';
import { KafkaEventLog } from '../libs/event-log/src/kafka/kafka-event-log';
import { silentLogger } from '../libs/event-log/src/kafka/kafka-logger';
import { startJvmKafka, type JvmKafkaBroker } from '../test/support/kafka/jvm-kafka-broker';
import { jvmKafkaUnavailable, kafkaVersion } from '../test/support/kafka/kafka-jars';
import { startSingleNode, type SingleNode } from '../test/support/single-node-server';
import { LoadSpec, runLoad } from './load';
import { connect, embeddedDatabaseUrl, PROJECTOR_GROUP, UPSERTS_TOPIC } from './pg-direct';
import { generatePopulation } from './population';
import { nowMs, round, sleep } from './stats';

export interface KafkaPhaseOptions {
  people: number;
  /** Records for the raw produce / consume measurement. */
  logRecords: number;
  concurrency: number;
  batch: number;
  seed: number;
  drainTimeoutSeconds: number;
}

export interface KafkaPhaseResult {
  broker: { version: string; startSeconds: number };
  log: { records: number; recordBytes: number; batch: number; produceRecordsPerSec: number; consumeRecordsPerSec: number; produceSeconds: number; consumeSeconds: number; brokerCores: number };
  endToEnd: {
    profilesPerSec: number;
    items: number;
    posted: number;
    seconds: number;
    postingSeconds: number;
    ingestItemsPerSec: number;
    partitions: number;
    complete: boolean;
    failedRequests: number;
    statusCounts: Record<string, number>;
    brokerCores: number;
  };
  seconds: number;
}

/** Why the phase cannot run here (no java / mvn), or null. */
export const kafkaPhaseUnavailable = (): string | null => jvmKafkaUnavailable(kafkaVersion());

export async function runKafkaPhase(o: KafkaPhaseOptions, log: (line: string) => void): Promise<KafkaPhaseResult> {
  const started = nowMs();
  const broker = await startJvmKafka({ version: kafkaVersion(), heapMb: 1024 });
  const brokerStart = (nowMs() - started) / 1000;
  log(`kafka: Apache Kafka ${broker.version} (JVM broker) at ${broker.brokers[0]} ready in ${brokerStart.toFixed(1)} s`);
  try {
    const logRates = await measureLog(broker, o, log);
    const endToEnd = await measureEndToEnd(broker, o, log);
    return { broker: { version: broker.version, startSeconds: round(brokerStart, 1) }, log: logRates, endToEnd, seconds: round((nowMs() - started) / 1000, 1) };
  } finally {
    await broker.destroy();
  }
}

/** CPU seconds of one process so far (utime + stime from /proc). */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks; USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

async function measureLog(broker: JvmKafkaBroker, o: KafkaPhaseOptions, log: (line: string) => void): Promise<KafkaPhaseResult['log']> {
  const topic = 'bench.kafka-log';
  const pop = generatePopulation({ people: Math.ceil(o.logRecords / 1.43) + 100, prefix: 'k', seed: o.seed + 7, batchSize: o.batch });
  const values = pop.items.slice(0, o.logRecords).map((it) => ({ key: it.key, value: JSON.stringify(it.attributes) }));
  const recordBytes = values.reduce((n, v) => n + v.value.length, 0) / values.length;
  const eventLog = new KafkaEventLog({ brokers: broker.brokers, clientId: 'bench', logger: silentLogger });
  try {
    await eventLog.ensureTopics([{ name: topic, partitions: 8 }]);
    await eventLog.produce(topic, values.slice(0, 10)); // connect and fetch metadata before the clock starts
    const cpu0 = cpuSeconds(broker.pid());
    const t0 = nowMs();
    let next = 10;
    const inFlight = 4;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < values.length) {
          const from = next;
          next = Math.min(values.length, next + o.batch);
          await eventLog.produce(topic, values.slice(from, next));
        }
      }),
    );
    const produceSeconds = (nowMs() - t0) / 1000;
    const produceCpu = cpuSeconds(broker.pid()) - cpu0;
    const total = values.length;
    log(`kafka-log: produced ${total} records (${recordBytes.toFixed(0)} B, batches of ${o.batch}, ${inFlight} in flight) in ${produceSeconds.toFixed(2)} s → ${Math.round((total - 10) / produceSeconds)} records/s`);

    let seen = 0;
    const c0 = nowMs();
    const cpu1 = cpuSeconds(broker.pid());
    let doneAt = 0;
    const handle = await eventLog.consume({
      groupId: 'bench.kafka-log',
      topics: [topic],
      fromBeginning: true,
      handleBatch: async (batch) => {
        seen += batch.records.length;
        if (seen >= total && !doneAt) doneAt = nowMs();
      },
    });
    const deadline = nowMs() + 120_000;
    while (!doneAt && nowMs() < deadline) await sleep(20);
    await handle.stop();
    const consumeSeconds = ((doneAt || nowMs()) - c0) / 1000;
    const consumeCpu = cpuSeconds(broker.pid()) - cpu1;
    log(`kafka-log: consumed ${seen} records in ${consumeSeconds.toFixed(2)} s (group join included) → ${Math.round(seen / consumeSeconds)} records/s`);
    return {
      records: total,
      recordBytes: round(recordBytes),
      batch: o.batch,
      produceRecordsPerSec: round((total - 10) / produceSeconds),
      consumeRecordsPerSec: round(seen / consumeSeconds),
      produceSeconds: round(produceSeconds, 2),
      consumeSeconds: round(consumeSeconds, 2),
      brokerCores: round((produceCpu + consumeCpu) / (produceSeconds + consumeSeconds), 2),
    };
  } finally {
    await eventLog.close();
  }
}

async function measureEndToEnd(broker: JvmKafkaBroker, o: KafkaPhaseOptions, log: (line: string) => void): Promise<KafkaPhaseResult['endToEnd']> {
  const server: SingleNode = await startSingleNode({ env: { KAFKA_BROKERS: broker.brokers.join(','), LOG_LEVEL: 'warn' }, startTimeoutMs: 120_000 });
  const eventLog = new KafkaEventLog({ brokers: broker.brokers, clientId: 'bench-observer', logger: silentLogger });
  const db = await connect(embeddedDatabaseUrl(server.dataDir));
  try {
    log(`kafka-e2e: server on Kafka at ${server.url} (pid ${server.process.pid})`);
    const applied = async () => {
      const { rows } = await db.query<{ applied: string | null }>(
        'SELECT sum(next_offset) AS applied FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2',
        [PROJECTOR_GROUP, UPSERTS_TOPIC],
      );
      return Number(rows[0]?.applied ?? 0);
    };
    const end = async () => (await eventLog.endOffsets(UPSERTS_TOPIC)).reduce((n, p) => n + p.offset, 0);
    const partitions = (await eventLog.endOffsets(UPSERTS_TOPIC)).length;
    const pop = generatePopulation({ people: o.people, prefix: 'ke', seed: o.seed + 3, batchSize: o.batch });
    const spec: LoadSpec = {
      baseUrl: server.url,
      headers: { 'x-api-key': server.publicKey },
      mode: 'closed',
      concurrency: o.concurrency,
      expectStatus: 202,
      requests: { method: 'POST', paths: '/v3/profiles', bodies: pop.bodies.map((b) => b.json), items: pop.bodies.map((b) => b.items) },
    };
    const [end0, applied0] = [await end(), await applied()];
    const cpu0 = cpuSeconds(broker.pid());
    const t0 = nowMs();
    const load = await runLoad(spec);
    const postedAt = nowMs();
    const target = await end();
    const deadline = nowMs() + o.drainTimeoutSeconds * 1000;
    let now = await applied();
    while (now < target && nowMs() < deadline) {
      await sleep(50);
      now = await applied();
    }
    const doneAt = nowMs();
    const items = now - applied0;
    const seconds = (doneAt - t0) / 1000;
    const result = {
      profilesPerSec: round(items / seconds),
      items,
      posted: pop.items.length,
      seconds: round(seconds, 2),
      postingSeconds: round((postedAt - t0) / 1000, 2),
      ingestItemsPerSec: round((load.items * 1000) / (postedAt - t0)),
      partitions,
      complete: now >= target && target - end0 === load.items,
      failedRequests: load.failed,
      statusCounts: load.statusCounts,
      brokerCores: round((cpuSeconds(broker.pid()) - cpu0) / seconds, 2),
    };
    log(
      `kafka-e2e: ${Math.round(result.profilesPerSec)} upserts/s end to end (${items} items in ${result.seconds} s; posting took ${result.postingSeconds} s ` +
        `at ${Math.round(result.ingestItemsPerSec)} items/s; ${partitions} partitions${result.complete ? '' : '; INCOMPLETE'}${load.failed ? `; non-202: ${JSON.stringify(load.statusCounts)}` : ''})`,
    );
    return result;
  } finally {
    await db.end().catch(() => undefined);
    await eventLog.close().catch(() => undefined);
    await server.stop('SIGTERM');
    server.cleanup();
  }
}
