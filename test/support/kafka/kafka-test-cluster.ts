/**
 * A real Kafka for the Kafka-path tests (DESIGN §8, §13), chosen in this order:
 *   1. KAFKA_BROKERS set           → that cluster ('external'; topics are created through the admin API);
 *   2. a container engine answers  → apache/kafka in KRaft mode via testcontainers ('container');
 *   3. `java` (+ `mvn` or cached jars) → a single-node KRaft broker run from the org.apache.kafka:kafka_2.13
 *      Maven jars ('jvm'; jvm-kafka-broker.ts, jars cached outside the repo by kafka-jars.ts);
 *   4. otherwise                   → the go-mokapi wire-protocol mock ('mokapi', last fallback; it serves
 *      only the topics declared when it starts, so a few real-Kafka-only cases report as skipped there).
 * TESSERA_KAFKA_TEST_SERVER=external|container|jvm|mokapi forces one (and fails loudly if unavailable);
 * TESSERA_KAFKA_VERSION picks the JVM broker's version (kafka-jars.ts).
 *
 * API:
 *   startKafkaForTests(topics)                     → the run's SHARED broker with `topics` created on it;
 *                                                    stop() is a no-op. Use your own topic and group names.
 *   startKafkaForTests(topics, { dedicated: true }) → a broker of this test's own, never KAFKA_BROKERS:
 *                                                    stop() (graceful, data kept), restart() (same ports,
 *                                                    data kept), kill() (SIGKILL), pause()/resume()
 *                                                    (SIGSTOP/SIGCONT); `keepsData` is false on mokapi.
 *   planKafkaTestKind({ dedicated? })              → the kind the call above will get, synchronously
 *                                                    (for sizing cases at describe time).
 * One broker per jest run: globalSetup calls startSharedKafka() and hands the address to the workers in
 * TESSERA_TEST_KAFKA_BROKERS (+ _KIND, _VERSION, _PID, _LOG) — names the app never reads, so e2e servers
 * spawned with process.env stay on the Postgres log. The JVM broker is spawned there but not awaited:
 * the first startKafkaForTests() of each worker waits until it serves, so runs without Kafka tests
 * never wait for it. mokapi is never shared (topics are fixed at its start).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { jvmKafkaUnavailable, kafkaVersion } from './kafka-jars';
import { startJvmKafka } from './jvm-kafka-broker';
import { startMokapi } from './mokapi-server';
import { freePort } from '../ports';

export { MOKAPI_CLIENT_SETTINGS, mokapiAsyncApi } from './mokapi-server';
export { freePort } from '../ports';

export type KafkaTestKind = 'external' | 'container' | 'jvm' | 'mokapi';

export interface KafkaTestCluster {
  brokers: string[];
  kind: KafkaTestKind;
  /** The Kafka version of a 'jvm' broker (e.g. '4.4.0'). */
  version?: string;
  /** Shared broker: does nothing. Dedicated: see DedicatedKafkaCluster. */
  stop(): Promise<void>;
  /** The broker's last log lines (jvm, mokapi), for failure messages. */
  output?(): string;
}

export interface DedicatedKafkaCluster extends KafkaTestCluster {
  dedicated: true;
  /** false on mokapi: a restarted mokapi is an empty broker. */
  keepsData: boolean;
  /** Graceful stop, waits for the exit; the data stays until this process exits. Idempotent. */
  stop(): Promise<void>;
  /** Stop if running, start again on the same address with the data kept; resolves once it serves. */
  restart(): Promise<void>;
  /** SIGKILL, waits for the exit (the port refuses connections). jvm and mokapi only. */
  kill(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing is answered. jvm and mokapi only. */
  pause(): void;
  resume(): void;
}

export interface KafkaTestTopic {
  name: string;
  partitions: number;
}

export interface StartKafkaOptions {
  /** A broker of this test's own, for tests that stop, kill, pause or restart it. */
  dedicated?: boolean;
}

const CONTAINER_PROBE_MS = 2_500;
const KAFKA_IMAGE = process.env.TESSERA_KAFKA_TEST_IMAGE ?? 'apache/kafka:3.9.1';
/** Set by startSharedKafka() in jest's globalSetup, read by the test workers. Never read by the app. */
export const SHARED_KAFKA_ENV = {
  brokers: 'TESSERA_TEST_KAFKA_BROKERS',
  kind: 'TESSERA_TEST_KAFKA_KIND',
  version: 'TESSERA_TEST_KAFKA_VERSION',
  /** JVM broker started in the background: its pid and log, so a worker waiting for it can tell why it died. */
  pid: 'TESSERA_TEST_KAFKA_PID',
  log: 'TESSERA_TEST_KAFKA_LOG',
} as const;
const SHARED_READY_TIMEOUT_MS = 120_000;

export function startKafkaForTests(topics: KafkaTestTopic[], options: StartKafkaOptions & { dedicated: true }): Promise<DedicatedKafkaCluster>;
export function startKafkaForTests(topics: KafkaTestTopic[], options?: StartKafkaOptions): Promise<KafkaTestCluster>;
export async function startKafkaForTests(topics: KafkaTestTopic[], options: StartKafkaOptions = {}): Promise<KafkaTestCluster> {
  if (options.dedicated) return startDedicated(topics);
  const shared = sharedKafkaFromEnv();
  if (shared) {
    await sharedKafkaServing(shared.brokers);
    await createTopics(shared.brokers, topics);
    return shared;
  }
  // No globalSetup broker (mokapi, or a tool outside jest): a broker for this caller.
  const kind = planKafkaTestKind();
  if (kind === 'external') {
    const brokers = externalBrokers()!;
    await createTopics(brokers, topics);
    return { brokers, kind, stop: async () => undefined };
  }
  return startLocal(kind, topics, true);
}

/** The kind startKafkaForTests will give, decided synchronously (test files size cases at describe time). */
export function planKafkaTestKind(options: StartKafkaOptions = {}): KafkaTestKind {
  const forced = forcedKind();
  if (forced && !(forced === 'external' && options.dedicated)) return forced;
  if (!options.dedicated) {
    const shared = process.env[SHARED_KAFKA_ENV.kind];
    if (shared) return shared as KafkaTestKind;
    if (externalBrokers()) return 'external';
  }
  return planLocalKind();
}

function planLocalKind(): Exclude<KafkaTestKind, 'external'> {
  if (containerEngineAnswers()) return 'container';
  return jvmAvailable() ? 'jvm' : 'mokapi';
}

/**
 * For jest's globalSetup: start the run's one shared broker (not for mokapi) and publish it to the
 * workers through SHARED_KAFKA_ENV. A broker that fails to start is an error when a kind was forced;
 * otherwise the run falls back to mokapi with a warning (the skipped count then shows it).
 */
export async function startSharedKafka(log: (line: string) => void = () => undefined): Promise<KafkaTestCluster | null> {
  if (process.env[SHARED_KAFKA_ENV.brokers]) return null; // an outer runner already provides one
  const forced = forcedKind();
  let kind: KafkaTestKind;
  if (forced) kind = forced;
  else if (externalBrokers()) kind = 'external';
  else kind = (await probeContainerRuntime(CONTAINER_PROBE_MS)) ? 'container' : jvmAvailable() ? 'jvm' : 'mokapi';
  if (kind === 'mokapi') {
    process.env[SHARED_KAFKA_ENV.kind] = 'mokapi';
    const why = forced ? 'TESSERA_KAFKA_TEST_SERVER=mokapi' : `no KAFKA_BROKERS, no container engine, JVM broker: ${jvmKafkaUnavailable()}`;
    log(`Kafka for tests: go-mokapi mock per suite (${why}); real-Kafka-only cases are skipped`);
    return null;
  }
  let cluster: KafkaTestCluster;
  const started = Date.now();
  try {
    if (kind === 'external') cluster = { brokers: externalBrokers() ?? [], kind, stop: async () => undefined };
    else if (kind === 'jvm') cluster = await startSharedJvm();
    else cluster = await startLocal(kind, [], true);
    if (cluster.brokers.length === 0) throw new Error('Kafka test kind "external" needs KAFKA_BROKERS');
  } catch (error) {
    if (forced) throw error;
    log(`Kafka for tests: the ${kind} broker did not start, falling back to the go-mokapi mock:\n${String(error)}`);
    process.env[SHARED_KAFKA_ENV.kind] = 'mokapi';
    return null;
  }
  process.env[SHARED_KAFKA_ENV.brokers] = cluster.brokers.join(',');
  process.env[SHARED_KAFKA_ENV.kind] = cluster.kind;
  if (cluster.version) process.env[SHARED_KAFKA_ENV.version] = cluster.version;
  const took = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  log(`Kafka for tests: ${describeKafka(cluster)} at ${cluster.brokers.join(',')} (${kind === 'jvm' ? `spawned in ${took}, serving in the background` : `ready in ${took}`})`);
  return cluster;
}

/**
 * The run's JVM broker, spawned but not awaited: a run without Kafka tests never waits for it; the
 * first startKafkaForTests() in each worker does (sharedKafkaServing).
 */
async function startSharedJvm(): Promise<KafkaTestCluster> {
  const why = jvmKafkaUnavailable();
  if (why) throw new Error(`Kafka test kind "jvm" is unavailable: ${why}`);
  const broker = await startJvmKafka({ version: kafkaVersion(), background: true });
  let serving = false;
  void broker.serving().then(() => (serving = true), () => undefined);
  process.env[SHARED_KAFKA_ENV.pid] = String(broker.pid() ?? '');
  process.env[SHARED_KAFKA_ENV.log] = broker.logFile;
  return {
    brokers: broker.brokers,
    kind: 'jvm',
    version: broker.version,
    // A broker still starting is killed (a controlled shutdown would wait for the start to finish).
    stop: async () => {
      if (!serving) await broker.kill();
      await broker.destroy();
    },
    output: () => broker.output(),
  };
}

let sharedServing: Promise<void> | undefined;

/** Until the shared broker answers (once per process); fails fast, with its log, if its JVM died. */
function sharedKafkaServing(brokers: string[]): Promise<void> {
  sharedServing ??= (async () => {
    const pid = Number(process.env[SHARED_KAFKA_ENV.pid] ?? '');
    const logFile = process.env[SHARED_KAFKA_ENV.log];
    const alive = () => {
      if (!pid) return true; // not ours to watch (external, container)
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await waitForKafka(brokers, SHARED_READY_TIMEOUT_MS, {
      retries: 0,
      died: () => (alive() ? undefined : new Error(`the run's Kafka broker (pid ${pid}) exited:\n${logTail(logFile)}`)),
      timedOut: (lastError) =>
        new Error(`the run's Kafka broker at ${brokers.join(',')} did not serve within ${SHARED_READY_TIMEOUT_MS} ms: ${String(lastError)}\n${logTail(logFile)}`),
    });
  })();
  sharedServing.catch(() => (sharedServing = undefined)); // a later suite may try again
  return sharedServing;
}

function logTail(file: string | undefined): string {
  if (!file) return '';
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-40).join('\n');
  } catch {
    return '';
  }
}

/** E.g. "jvm broker, Apache Kafka 4.4.0" — for the test run's closing lines. */
export function describeKafka(cluster: Pick<KafkaTestCluster, 'kind' | 'version'>): string {
  if (cluster.kind === 'jvm') return `JVM broker, Apache Kafka ${cluster.version}`;
  if (cluster.kind === 'container') return `container ${KAFKA_IMAGE}`;
  if (cluster.kind === 'external') return 'KAFKA_BROKERS';
  return 'go-mokapi mock';
}

function sharedKafkaFromEnv(): KafkaTestCluster | null {
  const brokers = (process.env[SHARED_KAFKA_ENV.brokers] ?? '').split(',').filter(Boolean);
  if (brokers.length === 0) return null;
  const kind = (process.env[SHARED_KAFKA_ENV.kind] ?? 'external') as KafkaTestKind;
  return { brokers, kind, version: process.env[SHARED_KAFKA_ENV.version] || undefined, stop: async () => undefined };
}

function forcedKind(): KafkaTestKind | undefined {
  const v = process.env.TESSERA_KAFKA_TEST_SERVER;
  if (v === undefined || v === '') return undefined;
  if (v === 'mokapi' || v === 'container' || v === 'external' || v === 'jvm') return v;
  throw new Error(`TESSERA_KAFKA_TEST_SERVER must be external, container, jvm or mokapi, got ${v}`);
}

function externalBrokers(): string[] | null {
  const list = (process.env.KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  return list.length > 0 ? list : null;
}

/** Cached in the environment so workers and later calls do not probe again. */
function jvmAvailable(): boolean {
  const cached = process.env.TESSERA_KAFKA_TEST_JVM;
  if (cached === 'yes' || cached === 'no') return cached === 'yes';
  const ok = jvmKafkaUnavailable() === null;
  process.env.TESSERA_KAFKA_TEST_JVM = ok ? 'yes' : 'no';
  return ok;
}

function containerEngineAnswers(): boolean {
  const cached = process.env.TESSERA_KAFKA_TEST_CONTAINER_ENGINE;
  if (cached === 'yes' || cached === 'no') return cached === 'yes';
  // testcontainers' probe is async; run it in a child process, bounded by a timeout.
  const probe = spawnSync(
    process.execPath,
    ['-e', "require('testcontainers').getContainerRuntimeClient().then(() => process.exit(0), () => process.exit(1))"],
    { cwd: join(__dirname, '..', '..', '..'), timeout: CONTAINER_PROBE_MS + 1_500, stdio: 'ignore' },
  );
  const found = probe.status === 0;
  process.env.TESSERA_KAFKA_TEST_CONTAINER_ENGINE = found ? 'yes' : 'no';
  return found;
}

async function startDedicated(topics: KafkaTestTopic[]): Promise<DedicatedKafkaCluster> {
  const forced = forcedKind();
  const kind = forced && forced !== 'external' ? forced : planLocalKind();
  return startLocal(kind, topics, false);
}

/** stopIsFinal: stop() removes the data (a broker nobody restarts); else it keeps them for restart(). */
async function startLocal(kind: KafkaTestKind, topics: KafkaTestTopic[], stopIsFinal: boolean): Promise<DedicatedKafkaCluster> {
  if (kind === 'jvm') return startJvm(topics, stopIsFinal);
  if (kind === 'container') {
    const runtime = await probeContainerRuntime(30_000);
    if (!runtime) throw new Error('Kafka test kind "container" but no container engine answered');
    return startContainer(runtime.host, topics);
  }
  if (kind === 'mokapi') return startMokapiCluster(topics);
  throw new Error(`a local Kafka of kind ${kind} cannot be started`);
}

// ------------------------------------------------------------------ JVM broker from Maven jars

async function startJvm(topics: KafkaTestTopic[], stopIsFinal: boolean): Promise<DedicatedKafkaCluster> {
  const why = jvmKafkaUnavailable();
  if (why) throw new Error(`Kafka test kind "jvm" is unavailable: ${why}`);
  const broker = await startJvmKafka({ version: kafkaVersion() });
  try {
    await createTopics(broker.brokers, topics);
  } catch (error) {
    await broker.destroy();
    throw error;
  }
  return {
    brokers: broker.brokers,
    kind: 'jvm',
    version: broker.version,
    dedicated: true,
    keepsData: true,
    stop: () => (stopIsFinal ? broker.destroy() : broker.stop()),
    restart: () => broker.restart(),
    kill: () => broker.kill(),
    pause: () => broker.pause(),
    resume: () => broker.resume(),
    output: () => broker.output(),
  };
}

// ------------------------------------------------------------------ container engine

async function probeContainerRuntime(timeoutMs: number): Promise<{ host: string } | null> {
  const cached = process.env.TESSERA_KAFKA_TEST_CONTAINER_ENGINE;
  if (cached === 'no') return null;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    const client = await Promise.race([getContainerRuntimeClient(), timeout]).finally(() => clearTimeout(timer));
    process.env.TESSERA_KAFKA_TEST_CONTAINER_ENGINE = client ? 'yes' : 'no';
    return client ? { host: client.info.containerRuntime.host } : null;
  } catch {
    // "Could not find a working container runtime strategy": no engine on this machine.
    process.env.TESSERA_KAFKA_TEST_CONTAINER_ENGINE = 'no';
    return null;
  }
}

async function startContainer(host: string, topics: KafkaTestTopic[]): Promise<DedicatedKafkaCluster> {
  const { GenericContainer, Wait } = await import('testcontainers');
  // The advertised listener must be the address clients dial, so the host port is fixed up front
  // and mapped to the same container port (no second listener / startup script needed).
  const port = await freePort();
  const container = await new GenericContainer(KAFKA_IMAGE)
    .withEnvironment({
      CLUSTER_ID: 'tEssErAtEsTkAfKaKrAfT0',
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://0.0.0.0:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS: '1000',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withExposedPorts({ container: port, host: port })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000)
    .start();
  const brokers = [`${host}:${port}`];
  try {
    await waitForKafka(brokers);
    await createTopics(brokers, topics);
  } catch (error) {
    await container.stop().catch(() => undefined);
    throw error;
  }
  let stopped: Promise<void> | null = null;
  const unsupported = (what: string) => () => {
    throw new Error(`${what} is not supported on the container kind (TESSERA_KAFKA_TEST_SERVER=jvm supports it)`);
  };
  return {
    brokers,
    kind: 'container',
    dedicated: true,
    keepsData: true,
    stop: () => (stopped ??= container.stop().then(() => undefined)),
    async restart() {
      await container.restart();
      await waitForKafka(brokers);
    },
    kill: async () => unsupported('kill()')(),
    pause: unsupported('pause()'),
    resume: unsupported('resume()'),
  };
}

// ------------------------------------------------------------------ go-mokapi

async function startMokapiCluster(topics: KafkaTestTopic[]): Promise<DedicatedKafkaCluster> {
  const server = await startMokapi(topics);
  return {
    brokers: server.brokers,
    kind: 'mokapi',
    dedicated: true,
    keepsData: false,
    stop: () => server.stop(),
    restart: () => server.restart(),
    kill: () => server.kill(),
    pause: () => server.pause(),
    resume: () => server.resume(),
    output: () => server.output(),
  };
}

// ------------------------------------------------------------------ shared

interface WaitOptions {
  retries?: number;
  /** An error when the broker's process is gone (stop waiting at once). */
  died?: () => Error | undefined;
  timedOut?: (lastError: unknown) => Error;
}

/** Until an admin client connects and describes the cluster. */
async function waitForKafka(brokers: string[], timeoutMs = 60_000, options: WaitOptions = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const died = options.died?.();
    if (died) throw died;
    const admin = quietKafka(brokers, options.retries).admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    if (Date.now() > deadline) {
      throw options.timedOut?.(lastError) ?? new Error(`Kafka at ${brokers.join(',')} not ready after ${timeoutMs} ms: ${String(lastError)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Creates the topics that do not exist yet and waits until every partition answers ListOffsets: a
 * real broker reports the leader (waitForLeaders) a moment before it serves the partition, and
 * answers NOT_LEADER_FOR_PARTITION meanwhile.
 */
export async function createTopics(brokers: string[], topics: KafkaTestTopic[]): Promise<void> {
  if (topics.length === 0) return;
  const admin = quietKafka(brokers).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length === 0) return;
    await admin.createTopics({ waitForLeaders: true, topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions })) });
    const deadline = Date.now() + 30_000;
    for (const t of missing) {
      for (;;) {
        try {
          await admin.fetchTopicOffsets(t.name);
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  } finally {
    await admin.disconnect();
  }
}

function quietKafka(brokers: string[], retries = 3): Kafka {
  return new Kafka({
    brokers,
    clientId: 'tessera-test-setup',
    connectionTimeout: 3_000,
    retry: { retries },
    logLevel: logLevel.NOTHING,
  });
}
