/**
 * go-mokapi (npm `go-mokapi`): a Kafka wire-protocol mock, the harness's last fallback when no real
 * broker can be had (no KAFKA_BROKERS, no container engine, no java/mvn). It serves only the topics
 * declared in the AsyncAPI file it starts with and keeps records in memory only, so a restarted mokapi
 * is an empty broker on the same address.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { stringify } from 'yaml';
import { freePort } from '../ports';

export interface MokapiTopic {
  name: string;
  partitions: number;
}

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

export interface MokapiServer {
  brokers: string[];
  /** SIGSTOP: connections stay open, nothing is answered. */
  pause(): void;
  resume(): void;
  /** SIGKILL, resolves when gone: the port refuses connections and the records are lost. */
  kill(): Promise<void>;
  /** A fresh (empty) mokapi on the same port. */
  restart(): Promise<void>;
  /** The same as kill(): nothing of a mokapi outlives its process. restart() still works. */
  stop(): Promise<void>;
  output(): string;
}

/** The AsyncAPI 3 document mokapi serves: one Kafka server, one channel (= topic) per test topic. */
export function mokapiAsyncApi(port: number, topics: MokapiTopic[]): Record<string, unknown> {
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

function signalGroup(child: ChildProcess | undefined, signal: NodeJS.Signals): void {
  if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the watchdog shell and mokapi share a process group
  } catch {
    /* already gone */
  }
}

function binary(): string {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const platform = process.platform === 'win32' ? 'win32' : process.platform === 'darwin' ? 'darwin' : 'linux';
  // Each @go-mokapi/<platform>-<arch> package exports the absolute path of its binary.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(`@go-mokapi/${platform}-${arch}`) as string;
}

export async function startMokapi(topics: MokapiTopic[]): Promise<MokapiServer> {
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

async function launchMokapi(topics: MokapiTopic[]): Promise<MokapiServer> {
  const [kafkaPort, apiPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'tessera-mokapi-'));
  const specFile = join(dir, 'asyncapi.yaml');
  const logFile = join(dir, 'mokapi.log');
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
  // A tiny shell kills mokapi and removes its folder when our stdin pipe closes: this process ended,
  // however (jest's sandboxed `process` never emits 'exit', and SIGKILL runs no hook at all).
  // (Env names starting MOKAPI_ would be read by mokapi as its own config.)
  const watchdog = [
    'exec 3<&0',
    '"$0" "$@" </dev/null & child=$!',
    '( while read -r _; do :; done <&3; kill -KILL $child 2>/dev/null; rm -rf "$TESSERA_MOKAPI_DIR" ) & reader=$!',
    'wait $child; status=$?',
    'kill $reader 2>/dev/null',
    'exit $status',
  ].join('\n');
  const brokers = [`127.0.0.1:${kafkaPort}`];
  let child: ChildProcess | undefined;

  const launch = async () => {
    mkdirSync(dir, { recursive: true }); // kill() removed it
    writeFileSync(specFile, stringify(mokapiAsyncApi(kafkaPort, topics)));
    const fd = openSync(logFile, 'a');
    const c = spawn('/bin/sh', ['-c', watchdog, binary(), ...args], {
      stdio: ['pipe', fd, fd],
      detached: true,
      cwd: dir,
      env: { ...process.env, TESSERA_MOKAPI_DIR: dir },
    });
    closeSync(fd);
    c.unref();
    (c.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    child = c;
    await waitForTopics(brokers, topics, c, logFile);
  };

  const kill = async () => {
    const c = child;
    child = undefined;
    if (c) {
      const exited = new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
      signalGroup(c, 'SIGCONT');
      signalGroup(c, 'SIGKILL'); // shell, reader and mokapi share the group
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await launch();
  } catch (error) {
    await kill();
    throw error;
  }
  return {
    brokers,
    pause: () => signalGroup(child, 'SIGSTOP'),
    resume: () => signalGroup(child, 'SIGCONT'),
    kill,
    async restart() {
      await kill();
      await launch();
    },
    stop: kill,
    output: () => readTail(logFile),
  };
}

function readTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-40).join('\n').trim();
  } catch {
    return '';
  }
}

/** Until an admin client sees every declared topic (mokapi loads its spec after binding). */
async function waitForTopics(brokers: string[], topics: MokapiTopic[], child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`mokapi exited early:\n${readTail(logFile)}`);
    const admin = new Kafka({ brokers, clientId: 'tessera-test-setup', connectionTimeout: 1_000, retry: { retries: 0 }, logLevel: logLevel.NOTHING }).admin();
    try {
      await admin.connect();
      const names = new Set(await admin.listTopics());
      if (topics.every((t) => names.has(t.name))) return;
    } catch (error) {
      last = error;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`mokapi at ${brokers.join(',')} not ready: ${String(last)}\n${readTail(logFile)}`);
}
