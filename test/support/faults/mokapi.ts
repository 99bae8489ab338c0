/**
 * A go-mokapi Kafka wire-protocol server a fault test can break: pause it (SIGSTOP — the broker keeps
 * its records but answers nothing, like a network partition), resume it (SIGCONT), kill it (its port
 * refuses connections; mokapi keeps records in memory only, so they are gone) and start a fresh one on
 * the same address. test/support/kafka/kafka-test-cluster.ts starts mokapi for the adapter tests but
 * exposes neither its process nor a fixed port, which these faults need.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { stringify } from 'yaml';
import { freePort, mokapiAsyncApi, type KafkaTestTopic } from '../kafka/kafka-test-cluster';

export interface FaultyMokapi {
  brokers: string[];
  port: number;
  /** SIGSTOP: connections stay open, nothing is answered. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGKILL and wait for the exit: the port is closed, the records are lost. */
  kill(): Promise<void>;
  /** A fresh (empty) mokapi on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let hooked = false;

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the watchdog shell and mokapi share a process group
  } catch {
    /* gone */
  }
}

function binary(): string {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const platform = process.platform === 'darwin' ? 'darwin' : 'linux';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(`@go-mokapi/${platform}-${arch}`) as string;
}

async function waitForTopics(brokers: string[], topics: KafkaTestTopic[], child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mokapi exited with ${child.exitCode}`);
    const admin = new Kafka({ brokers, clientId: 'faults-setup', connectionTimeout: 1_000, retry: { retries: 0 }, logLevel: logLevel.NOTHING }).admin();
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
  throw new Error(`mokapi not ready: ${String(last)}`);
}

export async function startFaultyMokapi(topics: KafkaTestTopic[]): Promise<FaultyMokapi> {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const c of live) signalGroup(c, 'SIGKILL');
    });
  }
  const port = await freePort();
  const apiPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-faulty-mokapi-'));
  const spec = join(dir, 'asyncapi.yaml');
  writeFileSync(spec, stringify(mokapiAsyncApi(port, topics)));
  const brokers = [`127.0.0.1:${port}`];
  let child: ChildProcess | undefined;

  const launch = async () => {
    // The shell kills mokapi when our end of its stdin closes (this process died without exit hooks).
    const watchdog = '"$0" "$@" & child=$!; while read -r _; do :; done; kill -KILL $child 2>/dev/null; wait $child';
    const c = spawn(
      '/bin/sh',
      ['-c', watchdog, binary(), `--providers-file-filename=${spec}`, `--api-port=${apiPort}`, '--api-dashboard=false', '--health-enabled=false', '--mcp-server-enabled=false', '--log-level=warn'],
      { stdio: ['pipe', 'ignore', 'ignore'], detached: true, cwd: dir },
    );
    c.unref();
    (c.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    live.add(c);
    child = c;
    await waitForTopics(brokers, topics, c);
  };

  const kill = async () => {
    const c = child;
    if (!c) return;
    child = undefined;
    const exited = new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
    signalGroup(c, 'SIGCONT');
    signalGroup(c, 'SIGKILL');
    await exited;
    live.delete(c);
  };

  await launch();
  return {
    brokers,
    port,
    pause: () => child && signalGroup(child, 'SIGSTOP'),
    resume: () => child && signalGroup(child, 'SIGCONT'),
    kill,
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
