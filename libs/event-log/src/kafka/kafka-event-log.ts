import { randomUUID } from 'node:crypto';
import { ConfigResourceTypes, ConfigSource, Kafka, Partitioners, logLevel, type Admin, type Producer } from 'kafkajs';
import {
  RedactionUnavailableError,
  type ConsumeOptions,
  type ConsumerHandle,
  type EventLog,
  type LogRecordInput,
  type PartitionLag,
  type ProducedRecord,
  type RecordBatch,
  type RedactionResult,
  type RedactionTarget,
  type ScanOptions,
  type ScanResult,
  type TopicCompaction,
  type TopicSpec,
} from '../event-log.port';
import { partitionForKey } from '../partitioner';
import { fetchedOffset, KafkaConsumerHandle, toLogRecord, type HandlerBackoff } from './kafka-consumer';
import {
  KafkaUnavailableError,
  describe,
  isLeadershipMovingError,
  isTransientKafkaError,
  isUnsupportedGroupAdminError,
  toLogError,
  withTimeout,
} from './kafka-errors';
import { consoleWarnLogger, kafkaJsLogCreator, type KafkaEventLogLogger } from './kafka-logger';

export { KafkaUnavailableError } from './kafka-errors';
export type { KafkaEventLogLogger } from './kafka-logger';

export interface KafkaEventLogOptions {
  brokers: string[];
  clientId?: string;
  logger?: KafkaEventLogLogger;
  /** produce() rejects with KafkaUnavailableError after this long (ingest answers 503). Default 10 s. */
  produceTimeoutMs?: number;
  /** Bound on admin calls (ping, endOffsets, lag, seek, ensureTopics). Default 10 s. */
  adminTimeoutMs?: number;
  /** TCP connect timeout per broker. Default 3 s. */
  connectionTimeoutMs?: number;
  /**
   * Idempotent producer (acks=-1, one request in flight). Default true; production must keep it.
   * Only the go-mokapi test server needs `false`: it checks sequence numbers against the last
   * *batch* instead of the last record, so every multi-record batch after the first is refused.
   */
  idempotent?: boolean;
  /** Redelivery back-off after handleBatch throws: 1 s doubling to 30 s (the port's contract). */
  handlerBackoff?: HandlerBackoff;
  /** Consumer fetch long-poll; also bounds how long stop() waits for an idle fetch. Default 500 ms. */
  fetchMaxWaitMs?: number;
  /** Group session timeout. Default 30 s. */
  sessionTimeoutMs?: number;
  /** Heartbeat period (also while a slow handler runs). Default sessionTimeoutMs / 10. */
  heartbeatIntervalMs?: number;
  /**
   * Replication factor of topics this adapter creates. Default 3 (a production cluster); capped at the
   * number of brokers the cluster reports, with a warning (a single dev broker gets 1).
   */
  replicationFactor?: number;
  /** `min.insync.replicas` of topics this adapter creates. Default 2; capped at the replication factor used. */
  minInsyncReplicas?: number;
}

const DEFAULTS = {
  clientId: 'tessera',
  produceTimeoutMs: 10_000,
  adminTimeoutMs: 10_000,
  connectionTimeoutMs: 3_000,
  fetchMaxWaitMs: 500,
  sessionTimeoutMs: 30_000,
  handlerBackoff: { initialMs: 1_000, maxMs: 30_000 },
  replicationFactor: 3,
  minInsyncReplicas: 2,
};

/** EventLog on Kafka (KafkaJS). DESIGN §1, §4, §6. */
export class KafkaEventLog implements EventLog {
  readonly engine = 'kafka';

  private readonly kafka: Kafka;
  private readonly logger: KafkaEventLogLogger;
  private readonly produceTimeoutMs: number;
  private readonly adminTimeoutMs: number;
  private readonly idempotent: boolean;
  private readonly handlerBackoff: HandlerBackoff;
  private readonly fetchMaxWaitMs: number;
  private readonly sessionTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly replicationFactor: number;
  private readonly minInsyncReplicas: number;

  private producer: Promise<Producer> | null = null;
  private admin: Promise<Admin> | null = null;
  private readonly partitionCounts = new Map<string, Promise<number>>();
  private readonly consumers = new Set<KafkaConsumerHandle>();
  /** Offsets committed or set through this instance: the answer for lag() when the broker cannot say. */
  private readonly knownCommits = new Map<string, Map<number, number>>();
  /** Learned once: the server lacks the group admin APIs (DescribeGroups / member-less OffsetFetch). */
  private groupAdminUnsupported = false;
  /** A consumer KafkaJS will not restart: readiness fails from then on (the process must restart). */
  private fatalError: Error | null = null;
  private closed = false;
  /** Per topic: its segment.ms once it was seen compacted (redact's precondition); re-read while it is not. */
  private readonly compactionKnown = new Map<string, number>();
  /** Per topic/partition: a pending roll marker (see scheduleRoll). */
  private readonly rollTimers = new Map<string, NodeJS.Timeout>();

  constructor(options: KafkaEventLogOptions) {
    if (!options.brokers?.length) throw new Error('KafkaEventLog: brokers must name at least one host:port');
    this.logger = options.logger ?? consoleWarnLogger;
    this.produceTimeoutMs = options.produceTimeoutMs ?? DEFAULTS.produceTimeoutMs;
    this.adminTimeoutMs = options.adminTimeoutMs ?? DEFAULTS.adminTimeoutMs;
    this.idempotent = options.idempotent ?? true;
    this.handlerBackoff = options.handlerBackoff ?? DEFAULTS.handlerBackoff;
    this.fetchMaxWaitMs = options.fetchMaxWaitMs ?? DEFAULTS.fetchMaxWaitMs;
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? Math.max(100, Math.floor(this.sessionTimeoutMs / 10));
    this.replicationFactor = options.replicationFactor ?? DEFAULTS.replicationFactor;
    this.minInsyncReplicas = options.minInsyncReplicas ?? DEFAULTS.minInsyncReplicas;
    if (!Number.isInteger(this.replicationFactor) || this.replicationFactor < 1) {
      throw new RangeError(`KafkaEventLog: replicationFactor must be an integer >= 1, got ${this.replicationFactor}`);
    }
    if (!Number.isInteger(this.minInsyncReplicas) || this.minInsyncReplicas < 1 || this.minInsyncReplicas > this.replicationFactor) {
      throw new RangeError(
        `KafkaEventLog: minInsyncReplicas must be an integer from 1 to replicationFactor (${this.replicationFactor}), got ${this.minInsyncReplicas}`,
      );
    }
    const connectionTimeout = options.connectionTimeoutMs ?? DEFAULTS.connectionTimeoutMs;
    this.kafka = new Kafka({
      brokers: options.brokers,
      clientId: options.clientId ?? DEFAULTS.clientId,
      connectionTimeout,
      // A request never outlives the produce deadline by much; KafkaJS's default is 30 s.
      requestTimeout: Math.max(1_000, Math.min(30_000, this.produceTimeoutMs)),
      retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 5 },
      logLevel: logLevel.INFO,
      logCreator: kafkaJsLogCreator(this.logger),
    });
  }

  // ---------------------------------------------------------------- topics

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    if (topics.length === 0) return;
    await this.adminCall('ensureTopics', async (admin) => {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.name));
      const present = topics.filter((t) => existing.has(t.name) && t.deletable);
      if (present.length) await this.alignCompaction(admin, present);
      if (missing.length === 0) return;
      const { replicationFactor, minInsyncReplicas } = await this.replicationFor(admin);
      await admin.createTopics({
        waitForLeaders: true,
        timeout: this.adminTimeoutMs,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor,
          configEntries: [
            { name: 'retention.ms', value: String(t.retentionMs ?? -1) },
            { name: 'min.insync.replicas', value: String(minInsyncReplicas) },
            ...compactionEntries(t.deletable),
          ],
        })),
      });
      for (const t of missing) this.partitionCounts.delete(t.name);
      await this.untilServing(admin, missing.map((t) => t.name));
    });
  }

  /**
   * An existing topic that must be deletable gets the configured compaction settings. A topic still on
   * `cleanup.policy=delete` is switched only while it is empty: its records may be keyed by a person's
   * identifier (before record-id keys), and compaction would keep only the newest record per key —
   * history lost. Such a topic is left alone with an error log; erasure then cannot complete on it.
   */
  private async alignCompaction(admin: Admin, topics: TopicSpec[]): Promise<void> {
    let described: Awaited<ReturnType<Admin['describeConfigs']>>;
    try {
      described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: topics.map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t.name })),
      });
    } catch (error) {
      if (isTransientKafkaError(error)) throw error;
      // A server without topic configs (the go-mokapi test mock): nothing to align; redact() refuses there.
      this.logger.warn('Kafka topic configs cannot be read; compaction settings not checked', { topics: topics.map((t) => t.name), error: describe(error) });
      return;
    }
    for (const t of topics) {
      const resource = described.resources.find((r) => r.resourceName === t.name);
      if (!resource || resource.errorCode !== 0) continue;
      const current = new Map(resource.configEntries.map((e) => [e.configName, e]));
      const wanted = compactionEntries(t.deletable);
      if (wanted.every((w) => current.get(w.name)?.configValue === w.value)) continue;
      const compacted = (current.get('cleanup.policy')?.configValue ?? '').split(',').includes('compact');
      if (!compacted) {
        const offsets = await admin.fetchTopicOffsets(t.name);
        if (offsets.some((o) => o.low !== o.high)) {
          this.logger.error(
            'Kafka topic is not compacted and holds records: erasure cannot delete them (requests stay IN_PROGRESS). ' +
              'Copy it to a new topic (record-id keys, cleanup.policy=compact) or, if every key is a record id, set cleanup.policy=compact yourself',
            { topic: t.name, cleanupPolicy: current.get('cleanup.policy')?.configValue },
          );
          continue;
        }
      }
      // AlterConfigs replaces the topic's whole config: keep every override it has, change ours.
      const overrides = new Map(
        resource.configEntries.filter((e) => e.configSource === ConfigSource.TOPIC_CONFIG && !e.isSensitive).map((e) => [e.configName, e.configValue]),
      );
      for (const w of wanted) overrides.set(w.name, w.value);
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: t.name, configEntries: [...overrides].map(([name, value]) => ({ name, value })) }],
      });
      this.compactionKnown.delete(t.name);
      this.logger.info('Kafka topic compaction settings applied', { topic: t.name, settings: Object.fromEntries(wanted.map((w) => [w.name, w.value])) });
    }
  }

  /**
   * createTopics' waitForLeaders only waits for the metadata to name leaders; the leader itself may
   * answer NOT_LEADER_FOR_PARTITION / UNKNOWN_TOPIC_OR_PARTITION for a moment longer (KafkaJS #815).
   * A created topic is returned usable: every partition answers ListOffsets. Bounded by adminCall's timeout.
   */
  private async untilServing(admin: Admin, topics: string[]): Promise<void> {
    for (const topic of topics) {
      for (;;) {
        try {
          await admin.fetchTopicOffsets(topic);
          break;
        } catch (error) {
          if (!isTransientKafkaError(error) && (error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  }

  /**
   * The configured replication, capped at what the cluster can hold: a factor above the broker count
   * would make createTopics fail (INVALID_REPLICATION_FACTOR). Capping is logged — a production cluster
   * smaller than its configuration is worth a warning; a single dev broker is set to 1 explicitly.
   */
  private async replicationFor(admin: Admin): Promise<{ replicationFactor: number; minInsyncReplicas: number }> {
    const { brokers } = await admin.describeCluster();
    const replicationFactor = Math.max(1, Math.min(this.replicationFactor, brokers.length));
    const minInsyncReplicas = Math.min(this.minInsyncReplicas, replicationFactor);
    if (replicationFactor < this.replicationFactor || minInsyncReplicas < this.minInsyncReplicas) {
      this.logger.warn('Kafka cluster has fewer brokers than the configured replication factor; creating topics with less', {
        brokers: brokers.length,
        configuredReplicationFactor: this.replicationFactor,
        replicationFactor,
        configuredMinInsyncReplicas: this.minInsyncReplicas,
        minInsyncReplicas,
      });
    }
    return { replicationFactor, minInsyncReplicas };
  }

  // ---------------------------------------------------------------- produce

  async produce(topic: string, records: LogRecordInput[]): Promise<ProducedRecord[]> {
    this.assertOpen();
    if (records.length === 0) return [];
    const work = this.doProduce(topic, records);
    try {
      return await withTimeout(
        work,
        this.produceTimeoutMs,
        () => new KafkaUnavailableError(`produce to ${topic}: no acknowledgement within ${this.produceTimeoutMs} ms`),
      );
    } catch (error) {
      const mapped = toLogError(error, `produce to ${topic}`);
      if (!(error instanceof RangeError)) {
        // Drop the producer on any broker-side failure: stops KafkaJS retrying in the background, and
        // an idempotent session the broker no longer accepts (a restarted broker answers
        // OUT_OF_ORDER_SEQUENCE_NUMBER for ever) is replaced by a fresh producer id on the next call.
        this.resetProducer();
        this.partitionCounts.delete(topic);
      }
      throw mapped;
    }
  }

  private async doProduce(topic: string, records: LogRecordInput[]): Promise<ProducedRecord[]> {
    const count = await this.partitionCount(topic);
    const partitions = records.map((r) => {
      const p = r.partition ?? partitionForKey(r.partitionKey ?? r.key, count);
      if (!Number.isInteger(p) || p < 0 || p >= count) {
        throw new RangeError(`produce to ${topic}: partition ${p} outside 0..${count - 1}`);
      }
      return p;
    });
    const producer = await this.getProducer();
    const metadata = await producer.send({
      topic,
      acks: -1,
      timeout: this.produceTimeoutMs,
      messages: records.map((r, i) => ({
        key: r.key,
        value: r.value,
        headers: r.headers,
        partition: partitions[i],
      })),
    });
    // One record batch per partition per request: offsets are baseOffset + position within the partition.
    const base = new Map<number, number>();
    for (const m of metadata) {
      if (m.errorCode !== 0 || m.baseOffset === undefined) {
        throw new Error(`produce to ${topic}: partition ${m.partition} answered error code ${m.errorCode}`);
      }
      base.set(m.partition, Number(m.baseOffset));
    }
    const seen = new Map<number, number>();
    return partitions.map((partition) => {
      const start = base.get(partition);
      if (start === undefined) throw new Error(`produce to ${topic}: no acknowledgement for partition ${partition}`);
      const index = seen.get(partition) ?? 0;
      seen.set(partition, index + 1);
      return { topic, partition, offset: start + index };
    });
  }

  private getProducer(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer({
        idempotent: this.idempotent,
        maxInFlightRequests: 1, // with retries, more in flight could reorder a key's records
        allowAutoTopicCreation: false,
        // Partitions are always explicit (partitionForKey); this only silences KafkaJS's v2 notice.
        createPartitioner: Partitioners.DefaultPartitioner,
        // Bounded retries: produce has its own deadline; KafkaJS's idempotent default is unbounded.
        retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 5 },
      });
      const connecting = producer.connect().then(() => producer);
      this.producer = connecting;
      connecting.catch(() => {
        if (this.producer === connecting) this.producer = null;
        producer.disconnect().catch(() => undefined);
      });
    }
    return this.producer;
  }

  private resetProducer(): void {
    const old = this.producer;
    this.producer = null;
    old?.then((p) => p.disconnect()).catch(() => undefined);
  }

  private partitionCount(topic: string): Promise<number> {
    let count = this.partitionCounts.get(topic);
    if (!count) {
      count = this.adminCall(`partitions of ${topic}`, async (admin) => {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        const n = topics.find((t) => t.name === topic)?.partitions.length ?? 0;
        if (n === 0) throw new Error(`Kafka topic ${topic} does not exist`);
        return n;
      });
      this.partitionCounts.set(topic, count);
      count.catch(() => this.partitionCounts.delete(topic));
    }
    return count;
  }

  // ---------------------------------------------------------------- consume

  async consume(options: ConsumeOptions): Promise<ConsumerHandle> {
    this.assertOpen();
    const consumer = this.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: this.sessionTimeoutMs,
      heartbeatInterval: this.heartbeatIntervalMs,
      maxWaitTimeInMs: this.fetchMaxWaitMs,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: 8 },
    });
    const handle = new KafkaConsumerHandle({
      consumer,
      options,
      logger: this.logger,
      backoff: this.handlerBackoff,
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      onCommitted: (group, topic, partition, next) => this.remember(group, topic, [{ partition, offset: next }]),
      onStopped: (h) => this.consumers.delete(h),
      onFatal: (_h, error) => {
        this.fatalError ??= error;
      },
    });
    this.consumers.add(handle);
    try {
      await handle.start();
    } catch (error) {
      await handle.stop().catch(() => undefined);
      throw toLogError(error, `consume ${options.topics.join(',')} as ${options.groupId}`);
    }
    return handle;
  }

  // ---------------------------------------------------------------- offsets

  async seek(
    groupId: string,
    topic: string,
    to: 'beginning' | 'end' | Array<{ partition: number; offset: number }>,
  ): Promise<void> {
    const targets = await this.adminCall(`seek ${groupId} on ${topic}`, async (admin) => {
      if (Array.isArray(to)) return to.map((t) => ({ partition: t.partition, offset: t.offset }));
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.map((o) => ({ partition: o.partition, offset: Number(to === 'beginning' ? o.low : o.high) }));
    });
    if (targets.length === 0) return;
    const partitions = targets.map((t) => ({ partition: t.partition, offset: String(t.offset) }));
    if (!this.groupAdminUnsupported) {
      try {
        // Refuses while the group has live members (Kafka's rule, and the port's).
        await this.adminCall(`seek ${groupId} on ${topic}`, (admin) => admin.setOffsets({ groupId, topic, partitions }));
        this.remember(groupId, topic, targets);
        return;
      } catch (error) {
        if (!isUnsupportedGroupAdminError(error) && !isUnsupportedGroupAdminError((error as { cause?: unknown }).cause)) throw error;
        this.groupAdminUnsupported = true;
        this.logger.info('Kafka server lacks DescribeGroups; seeking through a short-lived group member', { error: describe(error) });
      }
    }
    await this.seekAsMember(groupId, topic, partitions);
    this.remember(groupId, topic, targets);
  }

  /**
   * What admin.setOffsets does, minus its DescribeGroups check (unsupported by the go-mokapi test
   * server): join the group paused, seek (= commit, autoCommit on), leave on the first fetch.
   */
  private async seekAsMember(groupId: string, topic: string, partitions: Array<{ partition: number; offset: string }>): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
      sessionTimeout: this.sessionTimeoutMs,
      heartbeatInterval: this.heartbeatIntervalMs,
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const done = new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.FETCH, () => {
          consumer.stop().then(resolve, reject);
        });
        consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
        consumer.run({ eachBatchAutoResolve: false, eachBatch: async () => undefined }).catch(reject);
        consumer.pause([{ topic }]);
        for (const p of partitions) consumer.seek({ topic, ...p });
      });
      await withTimeout(done, this.adminTimeoutMs, () => new KafkaUnavailableError(`seek ${groupId} on ${topic}: timed out`));
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
  }

  async endOffsets(topic: string): Promise<Array<{ partition: number; offset: number }>> {
    return this.adminCall(`endOffsets ${topic}`, async (admin) => {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.map((o) => ({ partition: o.partition, offset: Number(o.high) })).sort((a, b) => a.partition - b.partition);
    });
  }

  async lag(groupId: string, topic: string): Promise<PartitionLag[]> {
    return this.adminCall(`lag ${groupId} on ${topic}`, async (admin) => {
      const watermarks = await admin.fetchTopicOffsets(topic);
      const committed = new Map<number, number>();
      let fromBroker = false;
      if (!this.groupAdminUnsupported) {
        try {
          const [res] = await admin.fetchOffsets({ groupId, topics: [topic] });
          for (const p of res?.partitions ?? []) {
            const n = Number(p.offset);
            if (n >= 0) committed.set(p.partition, n); // -1: nothing committed
          }
          fromBroker = true;
        } catch (error) {
          if (!isUnsupportedGroupAdminError(error)) throw error;
          // go-mokapi answers OffsetFetch only on a group member's own connection.
          this.groupAdminUnsupported = true;
          this.logger.info('Kafka server refuses admin OffsetFetch; lag uses offsets committed through this process', { error: describe(error) });
        }
      }
      if (!fromBroker) {
        for (const [partition, offset] of this.knownCommits.get(commitKey(groupId, topic)) ?? []) committed.set(partition, offset);
      }
      return watermarks
        .map((w) => {
          const end = Number(w.high);
          const low = Number(w.low);
          const c = committed.get(w.partition) ?? low;
          return { partition: w.partition, committed: c, end, lag: Math.max(0, end - c) };
        })
        .sort((a, b) => a.partition - b.partition);
    });
  }

  private remember(groupId: string, topic: string, offsets: Array<{ partition: number; offset: number }>): void {
    const key = commitKey(groupId, topic);
    const map = this.knownCommits.get(key) ?? new Map<number, number>();
    for (const o of offsets) map.set(o.partition, o.offset);
    this.knownCommits.set(key, map);
  }

  // ---------------------------------------------------------------- erasure

  /**
   * KafkaJS has no manual assignment: a member of a throw-away group reads the topic from its beginning
   * and never commits (autoCommit off); the group is deleted afterwards. A partition is done at its
   * `until` offset, or — when the records just below it were compacted away — once its broker answered
   * more than three fetches over 2 s without it while no batch was in hand (each fetch has room for every
   * partition, so a fetch without one means it has nothing more).
   */
  async scan(topic: string, handle: (batch: RecordBatch) => Promise<void>, options: ScanOptions = {}): Promise<ScanResult> {
    this.assertOpen();
    const maxBatchRecords = options.maxBatchRecords ?? 1000;
    if (!Number.isInteger(maxBatchRecords) || maxBatchRecords < 1) throw new Error('scan: maxBatchRecords must be a positive integer');
    const until = options.until ?? (await this.endOffsets(topic));
    const low = await this.adminCall(`scan ${topic}`, (admin) => admin.fetchTopicOffsets(topic));
    const ends = new Map(until.map((u) => [u.partition, u.offset]));
    const open = new Set(until.filter((u) => u.offset > Number(low.find((l) => l.partition === u.partition)?.low ?? 0)).map((u) => u.partition));
    if (open.size === 0) return { records: 0, until };
    // A group coordinator still loading (fresh broker) or moving answers with retriable errors: start
    // again, as long as nothing was handed to the handler yet.
    const deadline = Date.now() + 3 * this.adminTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      const progress = { records: 0 };
      try {
        await this.scanAsMember(topic, handle, ends, new Set(open), maxBatchRecords, progress);
        return { records: progress.records, until };
      } catch (error) {
        if (progress.records > 0 || !isTransientKafkaError(error) || Date.now() > deadline || this.closed) throw toLogError(error, `scan ${topic}`);
        await new Promise((r) => setTimeout(r, Math.min(2_000, 200 * attempt)));
      }
    }
  }

  private async scanAsMember(
    topic: string,
    handle: (batch: RecordBatch) => Promise<void>,
    ends: Map<number, number>,
    open: Set<number>,
    maxBatchRecords: number,
    progress: { records: number },
  ): Promise<void> {
    const groupId = `tessera.scan.${randomUUID()}`;
    // Every partition fits one fetch response, so a fetch without data for a partition means it has none.
    const maxBytes = Math.max(10 * 1024 * 1024, ends.size * SCAN_BYTES_PER_PARTITION);
    const consumer = this.kafka.consumer({
      groupId,
      sessionTimeout: this.sessionTimeoutMs,
      heartbeatInterval: this.heartbeatIntervalMs,
      maxWaitTimeInMs: this.fetchMaxWaitMs,
      maxBytes,
      maxBytesPerPartition: SCAN_BYTES_PER_PARTITION,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: 8 },
    });
    // Which broker serves each partition: a partition is idle when ITS broker answered fetches without it.
    const leaders = await this.adminCall(`leaders of ${topic}`, async (admin) => {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      return new Map((topics[0]?.partitions ?? []).map((p) => [p.partitionId, p.leader]));
    });
    const fetchesOf = new Map<number, number>();
    let allFetches = 0;
    // Fetches answered by the partition's broker (any broker when its leader is unknown or moved away).
    const fetchesFor = (partition: number) => {
      const leader = leaders.get(partition);
      return leader === undefined ? allFetches : (fetchesOf.get(leader) ?? 0);
    };
    let busy = false;
    const started = Date.now();
    const lastBatchAt = new Map<number, { fetches: number; all: number; at: number }>();
    let finish: (error?: unknown) => void = () => undefined;
    const finished = new Promise<void>((resolve, reject) => {
      finish = (error) => (error === undefined ? resolve() : reject(error));
    });
    const close = (partition: number) => {
      open.delete(partition);
      if (open.size === 0) finish();
    };
    try {
      consumer.on(consumer.events.CRASH, (e) => finish(e.payload.error));
      consumer.on(consumer.events.FETCH, (e) => {
        const node = Number(e.payload.nodeId);
        fetchesOf.set(node, (fetchesOf.get(node) ?? 0) + 1);
        allFetches++;
        if (busy) return; // a batch in hand may be followed by more of its partition
        const now = Date.now();
        for (const p of [...open]) {
          const seen = lastBatchAt.get(p) ?? { fetches: 0, all: 0, at: started };
          // The records just below `until` were compacted away: the broker has nothing more for it.
          const idle = fetchesFor(p) - seen.fetches > SCAN_IDLE_FETCHES && now - seen.at >= SCAN_IDLE_MS;
          // Its leader moved and no longer answers this member: a long silence says the same.
          const silent = allFetches - seen.all > 10 * SCAN_IDLE_FETCHES && now - seen.at >= 15 * SCAN_IDLE_MS;
          if (idle || silent) close(p);
        }
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch, heartbeat }) => {
          const { partition } = batch;
          const end = ends.get(partition);
          if (end === undefined || !open.has(partition)) return;
          busy = true;
          try {
            const messages = batch.messages.filter((m) => Number(m.offset) < end);
            for (let i = 0; i < messages.length; i += maxBatchRecords) {
              const chunk = messages.slice(i, i + maxBatchRecords).map((m) => toLogRecord(topic, partition, m));
              const readFrom = i === 0 ? fetchedOffset(batch, chunk[0]!.offset) : Number(messages[i - 1]!.offset) + 1;
              await handle({ topic, partition, records: chunk, highWatermark: Number(batch.highWatermark), readFrom });
              progress.records += chunk.length;
              await heartbeat();
            }
          } finally {
            busy = false;
            lastBatchAt.set(partition, { fetches: fetchesFor(partition), all: allFetches, at: Date.now() });
          }
          if (batch.messages.some((m) => Number(m.offset) >= end - 1)) close(partition);
        },
      });
      await finished;
    } finally {
      await consumer.stop().catch(() => undefined);
      await consumer.disconnect().catch(() => undefined);
      await this.adminCall(`delete scan group ${groupId}`, (admin) => admin.deleteGroups([groupId])).catch(() => undefined);
    }
  }

  /**
   * Tombstones (null value, the record's key, its partition): compaction deletes every earlier record
   * with that key in the partition — with record-id keys, exactly the target. Refused on a topic that is
   * not compacted (nothing would ever be deleted). A roll marker follows after `segment.ms` so the
   * tombstones leave the active segment (never compacted) even when no other record arrives.
   */
  async redact(topic: string, targets: RedactionTarget[]): Promise<RedactionResult> {
    this.assertOpen();
    if (targets.length === 0) return { rewritten: 0, tombstones: 0 };
    const segmentMs = await this.compactedSegmentMs(topic);
    const keyless = targets.find((t) => t.key === null);
    if (keyless) throw new RedactionUnavailableError(`redact ${topic}: record ${keyless.partition}@${keyless.offset} has no key; a tombstone cannot name it`);
    await this.sendTombstones(topic, targets.map((t) => ({ key: t.key!, partition: t.partition })));
    for (const partition of new Set(targets.map((t) => t.partition))) this.scheduleRoll(topic, partition, segmentMs);
    return { rewritten: 0, tombstones: targets.length };
  }

  private async sendTombstones(topic: string, tombstones: Array<{ key: string; partition: number }>): Promise<void> {
    const work = this.getProducer().then((producer) =>
      producer.send({ topic, acks: -1, timeout: this.produceTimeoutMs, messages: tombstones.map((t) => ({ key: t.key, value: null, partition: t.partition })) }),
    );
    try {
      await withTimeout(work, this.produceTimeoutMs, () => new KafkaUnavailableError(`tombstones to ${topic}: no acknowledgement within ${this.produceTimeoutMs} ms`));
    } catch (error) {
      this.resetProducer();
      throw toLogError(error, `tombstones to ${topic}`);
    }
  }

  /** The topic's segment.ms if its cleanup.policy includes compact; RedactionUnavailableError otherwise. */
  private async compactedSegmentMs(topic: string): Promise<number> {
    const known = this.compactionKnown.get(topic);
    if (known !== undefined) return known;
    const entries = await this.adminCall(`describe ${topic}`, async (admin) => {
      const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy', 'segment.ms'] }] });
      return new Map((described.resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
    });
    if (!(entries.get('cleanup.policy') ?? '').split(',').includes('compact')) {
      throw new RedactionUnavailableError(
        `Kafka topic ${topic} has cleanup.policy=${entries.get('cleanup.policy') ?? '?'}: tombstones would delete nothing (it must be compacted, see ensureTopics' deletable)`,
      );
    }
    const segmentMs = Number(entries.get('segment.ms') ?? 604_800_000);
    this.compactionKnown.set(topic, segmentMs);
    return segmentMs;
  }

  /**
   * Kafka rolls a segment only when a record is appended after segment.ms, and never compacts the active
   * segment: on a quiet partition the tombstones (and the records they delete) would stay readable until
   * the next append. One marker tombstone (a fresh key, nothing to delete) per partition, segment.ms
   * after the erasure, makes that append. Lost if the process stops first; then the next record rolls it.
   */
  private scheduleRoll(topic: string, partition: number, segmentMs: number): void {
    const key = `${topic}\u0000${partition}`;
    if (this.rollTimers.has(key)) return;
    const timer = setTimeout(() => {
      this.rollTimers.delete(key);
      if (this.closed) return;
      this.sendTombstones(topic, [{ key: `tessera.segment-roll.${randomUUID()}`, partition }]).catch((error) =>
        this.logger.warn('segment roll marker not produced; the partition rolls at its next record', { topic, partition, error: describe(error) }),
      );
    }, Math.min(2 ** 31 - 1, Math.max(0, segmentMs) + 100));
    timer.unref();
    this.rollTimers.set(key, timer);
  }

  // ---------------------------------------------------------------- lifecycle

  async ping(): Promise<void> {
    // A reachable broker does not make a dead consumer ready.
    if (this.fatalError) throw new Error(`Kafka event log not ready: ${this.fatalError.message}`, { cause: this.fatalError });
    await this.adminCall('ping', async (admin) => {
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length === 0) throw new KafkaUnavailableError('ping: Kafka reports no brokers');
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.rollTimers.values()) clearTimeout(t);
    this.rollTimers.clear();
    await Promise.allSettled([...this.consumers].map((c) => c.stop()));
    const producer = this.producer;
    const admin = this.admin;
    this.producer = null;
    this.admin = null;
    await Promise.allSettled([
      producer?.then((p) => p.disconnect()),
      admin?.then((a) => a.disconnect()),
    ]);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('KafkaEventLog is closed');
  }

  /**
   * Runs an admin call under adminTimeoutMs; a broken admin connection is rebuilt next time. An answer
   * that a partition's leadership is moving is asked again (fresh admin, fresh metadata) within the bound.
   */
  private async adminCall<T>(what: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
    this.assertOpen();
    const deadline = Date.now() + this.adminTimeoutMs;
    for (;;) {
      const work = this.getAdmin().then(fn);
      try {
        return await withTimeout(work, Math.max(1, deadline - Date.now()), () => new KafkaUnavailableError(`${what}: no answer within ${this.adminTimeoutMs} ms`));
      } catch (error) {
        if (isTransientKafkaError(error)) this.resetAdmin();
        if (isLeadershipMovingError(error) && Date.now() + 200 < deadline && !this.closed) {
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        throw toLogError(error, what);
      }
    }
  }

  private getAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin({ retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 3 } });
      const connecting = admin.connect().then(() => admin);
      this.admin = connecting;
      connecting.catch(() => {
        if (this.admin === connecting) this.admin = null;
        admin.disconnect().catch(() => undefined);
      });
    }
    return this.admin;
  }

  private resetAdmin(): void {
    const old = this.admin;
    this.admin = null;
    old?.then((a) => a.disconnect()).catch(() => undefined);
  }
}

/** Scan fetch size per partition (KafkaJS's default); the fetch as a whole takes every partition's share. */
const SCAN_BYTES_PER_PARTITION = 1024 * 1024;
/** A partition of a scan is at its end when its broker answered this many fetches without it, ... */
const SCAN_IDLE_FETCHES = 3;
/** ... over at least this long. */
const SCAN_IDLE_MS = 2_000;

/** Topic configs that make records deletable by tombstones within a bound (DESIGN §11, option 1). */
function compactionEntries(c: TopicCompaction | undefined): Array<{ name: string; value: string }> {
  if (!c) return [];
  if (!Number.isInteger(c.maxCompactionLagMs) || c.maxCompactionLagMs < 1) throw new RangeError(`maxCompactionLagMs must be a positive integer, got ${c.maxCompactionLagMs}`);
  const entries = [
    { name: 'cleanup.policy', value: 'compact' },
    { name: 'max.compaction.lag.ms', value: String(c.maxCompactionLagMs) },
    { name: 'segment.ms', value: String(c.segmentMs ?? Math.min(c.maxCompactionLagMs, 3_600_000)) },
    { name: 'min.cleanable.dirty.ratio', value: String(c.minCleanableDirtyRatio ?? 0.01) },
  ];
  if (c.deleteRetentionMs !== undefined) entries.push({ name: 'delete.retention.ms', value: String(c.deleteRetentionMs) });
  return entries;
}

function commitKey(groupId: string, topic: string): string {
  return `${groupId}\u0000${topic}`;
}
