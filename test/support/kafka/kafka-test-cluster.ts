/**
 * A Kafka for the Kafka-path tests (DESIGN §8), chosen in this order:
 *   1. KAFKA_BROKERS set            → that cluster ('external'; topics are created through the admin API);
 *   2. a container engine answers   → apache/kafka in KRaft mode via testcontainers ('container');
 *   3. otherwise                    → the go-mokapi binary from node_modules ('mokapi'), a Kafka
 *      wire-protocol mock that serves only the topics declared in the AsyncAPI file it starts with.
 * TESSERA_KAFKA_TEST_SERVER=mokapi|container|external forces a choice (and fails loudly if unavailable).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { stringify } from 'yaml';

export type KafkaTestKind = 'external' | 'container' | 'mokapi';

export interface KafkaTestCluster {
  brokers: string[];
  kind: KafkaTestKind;
  stop(): Promise<void>;
  /** mokapi only: its last lines of output, for a failure message. */
  output?(): string;
}

export interface KafkaTestTopic {
  name: string;
  partitions: number;
}

export interface StartKafkaOptions {
  /** false: never use KAFKA_BROKERS (tests that stop the broker need one of their own). Default true. */
  allowExternal?: boolean;
  /** Use this kind (e.g. the one planKafkaTestKind() promised at describe time) instead of choosing again. */
  kind?: KafkaTestKind;
}

const CONTAINER_PROBE_MS = 2_500;
const READY_TIMEOUT_MS = 20_000;
const KAFKA_IMAGE = process.env.TESSERA_KAFKA_TEST_IMAGE ?? 'apache/kafka:3.9.1';

export async function startKafkaForTests(topics: KafkaTestTopic[], options: StartKafkaOptions = {}): Promise<KafkaTestCluster> {
  let forced = options.kind ?? forcedKind();
  if (forced === 'external' && options.allowExternal === false) forced = undefined; // pick a local one
  const external = externalBrokers();
  if (external && options.allowExternal !== false && (forced === undefined || forced === 'external')) {
    await createTopics(external, topics);
    return { brokers: external, kind: 'external', stop: async () => undefined };
  }
  if (forced === 'external') throw new Error('Kafka test kind "external" needs KAFKA_BROKERS');
  if (forced !== 'mokapi') {
    const runtime = await probeContainerRuntime(forced === 'container' ? 30_000 : CONTAINER_PROBE_MS);
    if (runtime) return startContainer(runtime.host, topics);
    if (forced === 'container') throw new Error('Kafka test kind "container" but no container engine answered');
  }
  return startMokapi(topics);
}

/**
 * The kind startKafkaForTests will pick, decided synchronously — test files size their cases at
 * describe time (mokapi runs small). The container probe runs in a child process, bounded by a timeout.
 */
export function planKafkaTestKind(options: Pick<StartKafkaOptions, 'allowExternal'> = {}): KafkaTestKind {
  const forced = forcedKind();
  if (forced && !(forced === 'external' && options.allowExternal === false)) return forced;
  if (externalBrokers() && options.allowExternal !== false) return 'external';
  const cached = process.env.TESSERA_KAFKA_TEST_CONTAINER_ENGINE;
  if (cached === 'yes' || cached === 'no') return cached === 'yes' ? 'container' : 'mokapi';
  const probe = spawnSync(
    process.execPath,
    ['-e', "require('testcontainers').getContainerRuntimeClient().then(() => process.exit(0), () => process.exit(1))"],
    { cwd: join(__dirname, '..', '..', '..'), timeout: CONTAINER_PROBE_MS + 1_500, stdio: 'ignore' },
  );
  const found = probe.status === 0;
  process.env.TESSERA_KAFKA_TEST_CONTAINER_ENGINE = found ? 'yes' : 'no';
  return found ? 'container' : 'mokapi';
}

function forcedKind(): KafkaTestKind | undefined {
  const v = process.env.TESSERA_KAFKA_TEST_SERVER;
  if (v === undefined || v === '') return undefined;
  if (v === 'mokapi' || v === 'container' || v === 'external') return v;
  throw new Error(`TESSERA_KAFKA_TEST_SERVER must be mokapi, container or external, got ${v}`);
}

function externalBrokers(): string[] | null {
  const list = (process.env.KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  return list.length > 0 ? list : null;
}

// ------------------------------------------------------------------ container engine

async function probeContainerRuntime(timeoutMs: number): Promise<{ host: string } | null> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    const client = await Promise.race([getContainerRuntimeClient(), timeout]).finally(() => clearTimeout(timer));
    return client ? { host: client.info.containerRuntime.host } : null;
  } catch {
    // "Could not find a working container runtime strategy": no engine on this machine.
    return null;
  }
}

async function startContainer(host: string, topics: KafkaTestTopic[]): Promise<KafkaTestCluster> {
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
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withExposedPorts({ container: port, host: port })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000)
    .start();
  const brokers = [`${host}:${port}`];
  try {
    await waitForKafka(brokers, topics, null);
    await createTopics(brokers, topics);
  } catch (error) {
    await container.stop().catch(() => undefined);
    throw error;
  }
  return { brokers, kind: 'container', stop: async () => void (await container.stop()) };
}

// ------------------------------------------------------------------ go-mokapi

/**
 * KafkaEventLog options a test should use against mokapi (spread them in when kind === 'mokapi'):
 * - idempotent off: mokapi 0.52 checks producer sequence numbers per batch instead of per record and
 *   refuses every multi-record batch after a partition's first (OUT_OF_ORDER_SEQUENCE_NUMBER);
 * - fast heartbeats and a short session: see the group bindings in mokapiAsyncApi().
 */
export const MOKAPI_CLIENT_SETTINGS = {
  idempotent: false,
  heartbeatIntervalMs: 250,
  sessionTimeoutMs: 6_000,
} as const;

/** Running mokapi wrappers and their temp dirs, for the exit hook. */
const live = new Map<ChildProcess, string>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the wrapper shell and mokapi share a process group
  } catch {
    /* already gone */
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous on purpose: 'exit' handlers cannot await. A SIGKILLed test worker is covered by the
  // wrapper shell, which kills mokapi when its stdin (our end of the pipe) closes.
  process.on('exit', () => {
    for (const [child, dir] of live) {
      killGroup(child, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

function mokapiBinary(): string {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const platform = process.platform === 'win32' ? 'win32' : process.platform === 'darwin' ? 'darwin' : 'linux';
  // Each @go-mokapi/<platform>-<arch> package exports the absolute path of its binary.
  return require(`@go-mokapi/${platform}-${arch}`) as string;
}

/** The AsyncAPI 3 document mokapi serves: one Kafka server, one channel (= topic) per test topic. */
export function mokapiAsyncApi(port: number, topics: KafkaTestTopic[]): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  topics.forEach((t, i) => {
    channels[`topic${i}`] = {
      address: t.name,
      // No `messages`: mokapi then validates nothing, so any key/value bytes and headers are accepted
      // and stored as sent (a declared message would also stamp an x-specification-message-id header).
      bindings: { kafka: { partitions: t.partitions } },
    };
  });
  return {
    asyncapi: '3.0.0',
    info: { title: 'tessera-test-kafka', version: '1.0.0' },
    servers: {
      broker: {
        host: `127.0.0.1:${port}`,
        protocol: 'kafka',
        bindings: {
          kafka: {
            // mokapi's heartbeat answers REBALANCE_IN_PROGRESS only while a rebalance waits for joiners,
            // and it never checks the generation: a member that does not heartbeat inside this window
            // keeps its old partitions alongside the newcomer. 1 s (default 3 s) with the client
            // heartbeating every 250 ms (MOKAPI_CLIENT_SETTINGS) keeps groups correct and joins quick.
            'group.initial.rebalance.delay.ms': 1_000,
            // How often it looks for members whose session expired: its only way to notice a member
            // has left (stop() → LeaveGroup does not trigger a rebalance there). Default 6 s.
            'group.min.session.timeout.ms': 1_000,
          },
        },
      },
    },
    channels,
  };
}

async function startMokapi(topics: KafkaTestTopic[]): Promise<KafkaTestCluster> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launchMokapi(topics);
    } catch (error) {
      lastError = error; // most likely a port taken between freePort() and mokapi's bind
    }
  }
  throw lastError;
}

async function launchMokapi(topics: KafkaTestTopic[]): Promise<KafkaTestCluster> {
  installExitHook();
  const [kafkaPort, apiPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'tessera-mokapi-'));
  const specFile = join(dir, 'asyncapi.yaml');
  writeFileSync(specFile, stringify(mokapiAsyncApi(kafkaPort, topics)));
  const args = [
    `--providers-file-filename=${specFile}`,
    `--api-port=${apiPort}`, // its HTTP API cannot be switched off; keep it off the default 8080
    '--api-dashboard=false',
    // Its dashboard search indexes every record in a bleve index under a fixed /tmp path: two
    // instances at once corrupt it and mokapi panics; the indexing is also most of its CPU use.
    '--api-search-enabled=false',
    `--api-search-index-path=${join(dir, 'search-index')}`,
    '--health-enabled=false',
    '--mcp-server-enabled=false',
    '--log-level=warn',
  ];
  // mokapi runs under a tiny shell that kills it when our stdin pipe closes — on stop(), and also
  // when this process dies without running exit handlers (SIGKILL) — and exits, removing the temp
  // dir, when mokapi does. (Env names starting MOKAPI_ would be read by mokapi as its own config.)
  const watchdog = [
    'exec 3<&0',
    '"$0" "$@" </dev/null & child=$!',
    '( while read -r _; do :; done <&3; kill -TERM $child 2>/dev/null ) & reader=$!',
    'wait $child; status=$?',
    'kill $reader 2>/dev/null',
    'rm -rf "$TESSERA_MOKAPI_DIR"',
    'exit $status',
  ].join('\n');
  const child = spawn('/bin/sh', ['-c', watchdog, mokapiBinary(), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    cwd: dir,
    env: { ...process.env, TESSERA_MOKAPI_DIR: dir },
  });
  live.set(child, dir);
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.unref();
  (child.stdout as unknown as { unref?: () => void })?.unref?.();
  (child.stderr as unknown as { unref?: () => void })?.unref?.();
  (child.stdin as unknown as { unref?: () => void })?.unref?.();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      child.stdin?.end();
      const killer = setTimeout(() => killGroup(child, 'SIGKILL'), 3_000);
      await exited;
      clearTimeout(killer);
      live.delete(child);
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const brokers = [`127.0.0.1:${kafkaPort}`];
  try {
    await waitForKafka(brokers, topics, exited.then(() => new Error(`mokapi exited early:\n${output.slice(-20).join('\n')}`)));
  } catch (error) {
    await stop();
    throw error;
  }
  return { brokers, kind: 'mokapi', stop, output: () => output.join('\n') };
}

// ------------------------------------------------------------------ shared

/** Until a KafkaJS admin connects and sees every test topic (mokapi loads its spec after binding). */
async function waitForKafka(brokers: string[], topics: KafkaTestTopic[], died: Promise<Error> | null): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let failure: Error | null = null;
  died?.then((e) => (failure = e));
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (failure) throw failure;
    const admin = quietKafka(brokers).admin();
    try {
      await admin.connect();
      if (topics.length === 0) {
        await admin.describeCluster();
        return;
      }
      const names = new Set(await admin.listTopics());
      if (topics.every((t) => names.has(t.name)) || !died) return; // real brokers: topics come next
    } catch (error) {
      lastError = error;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Kafka at ${brokers.join(',')} not ready after ${READY_TIMEOUT_MS} ms: ${String(lastError)}`);
}

async function createTopics(brokers: string[], topics: KafkaTestTopic[]): Promise<void> {
  if (topics.length === 0) return;
  const admin = quietKafka(brokers).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      await admin.createTopics({ waitForLeaders: true, topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions })) });
    }
  } finally {
    await admin.disconnect();
  }
}

function quietKafka(brokers: string[]): Kafka {
  return new Kafka({
    brokers,
    clientId: 'tessera-test-setup',
    connectionTimeout: 1_000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
