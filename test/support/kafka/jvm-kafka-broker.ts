/**
 * A single-node Apache Kafka (KRaft, broker + controller in one JVM) on loopback ports, run from the
 * Maven jars (kafka-jars.ts): format storage, start, wait until an admin client is served; stop,
 * restart on the same ports with the data kept, SIGKILL, SIGSTOP/SIGCONT for fault tests.
 *
 * A watchdog shell per broker holds our end of a pipe: when this process ends, however, the pipe
 * closes and the watchdog kills the JVM and removes its data folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { isKafka3, javaCommand, kafkaVersion, resolveKafkaJars } from './kafka-jars';
import { classDataSharing, formattedStorage } from './jvm-startup-cache';
import { freePort } from '../ports';

export interface JvmKafkaBroker {
  brokers: string[];
  version: string;
  dataDir: string;
  /** Graceful stop (SIGTERM, controlled shutdown); the data stays. Idempotent. */
  stop(): Promise<void>;
  /** Stop if running, then start again on the same ports with the same data; resolves once it serves. */
  restart(): Promise<void>;
  /** SIGKILL; resolves when the JVM is gone. The data stays (restart() recovers it). */
  kill(): Promise<void>;
  pause(): void;
  resume(): void;
  /** Stop (if running) and delete the data folder. */
  destroy(): Promise<void>;
  /** The last lines the broker logged (WARN and above). */
  output(): string;
  /** The running JVM's process id (for CPU accounting), undefined while stopped. */
  pid(): number | undefined;
  /** Resolves once the current JVM answers an admin client; rejects if it exits first. */
  serving(): Promise<void>;
  /** The broker's log (stdout and stderr of every JVM it ran). */
  logFile: string;
}

export interface JvmKafkaOptions {
  version?: string;
  /** Heap for the broker JVM (-Xmx); default 512 MB. */
  heapMb?: number;
  /**
   * Resolve as soon as the JVM is spawned (jars and storage ready) instead of when it serves; await
   * serving() before use. jest's globalSetup does this so that runs without Kafka tests never wait.
   */
  background?: boolean;
}

const READY_TIMEOUT_MS = 90_000; // a cold JVM on a busy 2-core machine
const STOP_TIMEOUT_MS = 20_000;

/** Server properties for one combined broker+controller that a single node can satisfy. */
export function brokerProperties(p: { port: number; controllerPort: number; logDir: string; version: string }): string {
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${p.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${p.port},CONTROLLER://127.0.0.1:${p.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${p.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': p.logDir,
    // Internal topics default to replication factor 3: with one broker, consumer groups would never
    // form ("group coordinator is not available").
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    // Fast joins and rebalances for tests: no initial delay, short sessions allowed.
    'group.initial.rebalance.delay.ms': 0,
    'group.min.session.timeout.ms': 1_000,
    // After a SIGKILL the restarted controller holds the old registration until this session expires
    // (default 9 s) before it accepts the broker again; tests restart brokers on purpose.
    'broker.session.timeout.ms': 4_000,
    'broker.heartbeat.interval.ms': 500,
    'auto.create.topics.enable': false,
    'num.partitions': 1,
    // Small segments and indexes: many short-lived topics on a test machine.
    'log.segment.bytes': 16 * 1024 * 1024,
    'log.index.size.max.bytes': 1024 * 1024,
  };
  if (!isKafka3(p.version)) {
    props['share.coordinator.state.topic.replication.factor'] = 1;
    props['share.coordinator.state.topic.min.isr'] = 1;
  }
  return Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
}

/** 4.x logs with log4j2, 3.x with reload4j (log4j 1 syntax). WARN keeps a test run quiet (TESSERA_KAFKA_LOG_LEVEL=INFO to debug). */
function loggingConfig(version: string): { file: string; text: string; jvmFlag: (path: string) => string } {
  const level = /^(TRACE|DEBUG|INFO|WARN|ERROR)$/.test(process.env.TESSERA_KAFKA_LOG_LEVEL ?? '') ? process.env.TESSERA_KAFKA_LOG_LEVEL : 'WARN';
  if (isKafka3(version)) {
    return {
      file: 'log4j.properties',
      text: `log4j.rootLogger=${level}, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\nlog4j.appender.stdout.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n`,
      jvmFlag: (path) => `-Dlog4j.configuration=file:${path}`,
    };
  }
  return {
    file: 'log4j2.properties',
    text: `rootLogger.level=${level}\nrootLogger.appenderRef.stdout.ref=STDOUT\nappender.stdout.type=Console\nappender.stdout.name=STDOUT\nappender.stdout.layout.type=PatternLayout\nappender.stdout.layout.pattern=[%d] %p %m (%c)%n\n`,
    jvmFlag: (path) => `-Dlog4j2.configurationFile=${path}`,
  };
}

/** A KRaft cluster id: 16 random bytes, base64url without padding (what `StorageTool random-uuid` prints). */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id; // a leading dash would read as a command-line flag
  }
}

// ------------------------------------------------------------------ process bookkeeping

function signal(child: ChildProcess | undefined, sig: NodeJS.Signals): void {
  if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill(sig);
  } catch {
    /* already gone */
  }
}

const exitOf = (child: ChildProcess) =>
  new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));

const PID_FILE = 'jvm.pid';

/**
 * One per broker, for its whole life (across restarts): when our end of its stdin closes — this
 * process exited, however it died — it SIGKILLs the running JVM (pid in `dir/jvm.pid`) and removes
 * `dir`. Process 'exit' hooks are no substitute: jest runs test files in a sandbox whose `process`
 * never emits 'exit', and a SIGKILLed test process runs none.
 */
function startWatchdog(dir: string): ChildProcess {
  const script = [
    'while read -r _; do :; done',
    `if [ -f "$0/${PID_FILE}" ]; then kill -KILL "$(cat "$0/${PID_FILE}")" 2>/dev/null; sleep 1; fi`,
    'rm -rf "$0"',
  ].join('\n');
  const watchdog = spawn('/bin/sh', ['-c', script, dir], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return watchdog;
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n').trim();
  } catch {
    return '';
  }
}

function runToExit(command: string, args: string[], cwd: string, logFile: string): Promise<number | null> {
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { cwd, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return new Promise((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolvePromise(code));
  });
}

// ------------------------------------------------------------------ the broker

export async function startJvmKafka(options: JvmKafkaOptions = {}): Promise<JvmKafkaBroker> {
  const version = options.version ?? kafkaVersion();
  const java = javaCommand();
  if (!java) throw new Error('JVM Kafka broker: no java (JAVA_HOME or PATH)');
  const lib = await resolveKafkaJars(version);
  const dir = mkdtempSync(join(tmpdir(), 'tessera-kafka-'));
  const watchdog = startWatchdog(dir);
  const removeDataDir = () => {
    signal(watchdog, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const logFile = join(dir, 'broker.log');
  const [port, controllerPort] = [await freePort(), await freePort()];
  const logging = loggingConfig(version);
  writeFileSync(join(dir, logging.file), logging.text);
  const propsFile = join(dir, 'server.properties');
  const properties = (logDir: string) => brokerProperties({ port, controllerPort, logDir, version });
  writeFileSync(propsFile, properties(join(dir, 'data')));
  const jvmArgs = (extra: string[] = []) => [
    `-Xmx${options.heapMb ?? 512}m`,
    '-Xms128m',
    '-XX:+UseSerialGC', // one GC thread: the test machine has two cores shared with everything else
    '-Djava.awt.headless=true',
    logging.jvmFlag(join(dir, logging.file)),
    ...extra,
    '-cp',
    join(lib, '*'),
  ];

  try {
    await formattedStorage(version, join(dir, 'data'), async (logDir) => {
      const templateProps = join(dir, 'template.properties');
      writeFileSync(templateProps, properties(logDir));
      const code = await runToExit(java, [...jvmArgs(), 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', templateProps], dir, logFile);
      if (code !== 0) throw new Error(`Kafka ${version}: storage format exited with ${code}:\n${tail(logFile)}`);
    });
  } catch (error) {
    removeDataDir();
    throw error;
  }

  const brokers = [`127.0.0.1:${port}`];
  let child: ChildProcess | undefined;

  let serving: Promise<void> = Promise.resolve();
  const launch = () => {
    const cds = classDataSharing(version, java);
    const fd = openSync(logFile, 'a');
    const c = spawn(java, [...jvmArgs(cds.jvmFlags), 'kafka.Kafka', propsFile], { cwd: dir, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    c.unref();
    child = c;
    writeFileSync(join(dir, PID_FILE), String(c.pid));
    c.once('exit', (_code, sig) => {
      rmSync(join(dir, PID_FILE), { force: true }); // its pid may be reused: the watchdog must not kill it
      // A JVM that handled SIGTERM exits with 143 and has written its class-data archive by then.
      cds.afterExit(sig === null);
    });
    const died = exitOf(c).then(() => new Error(`Kafka ${version} exited during start-up (code ${c.exitCode ?? c.signalCode}):\n${tail(logFile)}`));
    serving = waitUntilServing(brokers, died, () => tail(logFile));
    serving.catch(() => undefined); // reported to whoever awaits it
    return serving;
  };

  const halt = async (sig: 'SIGTERM' | 'SIGKILL') => {
    const c = child;
    if (!c) return;
    child = undefined;
    const exited = exitOf(c);
    signal(c, 'SIGCONT'); // a paused JVM cannot shut down
    signal(c, sig);
    const killer = setTimeout(() => signal(c, 'SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(killer);
  };

  if (options.background) void launch();
  else {
    try {
      await launch();
    } catch (error) {
      await halt('SIGKILL');
      removeDataDir();
      throw error;
    }
  }

  return {
    brokers,
    version,
    dataDir: dir,
    stop: () => halt('SIGTERM'),
    async restart() {
      await halt('SIGTERM');
      await launch();
    },
    kill: () => halt('SIGKILL'),
    pause: () => signal(child, 'SIGSTOP'),
    resume: () => signal(child, 'SIGCONT'),
    async destroy() {
      await halt('SIGTERM');
      removeDataDir();
    },
    output: () => tail(logFile),
    pid: () => child?.pid,
    serving: () => serving,
    logFile,
  };
}

/** Until an admin client gets an answer to describeCluster (logs are at WARN: no "started" line to wait for). */
async function waitUntilServing(brokers: string[], died: Promise<Error>, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let failure: Error | null = null;
  void died.then((e) => (failure = e));
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (failure) throw failure;
    const admin = new Kafka({ brokers, clientId: 'tessera-test-setup', connectionTimeout: 1_000, retry: { retries: 0 }, logLevel: logLevel.NOTHING }).admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (failure) throw failure;
  throw new Error(`Kafka at ${brokers.join(',')} not serving after ${READY_TIMEOUT_MS} ms: ${String(lastError)}\n${output()}`);
}
