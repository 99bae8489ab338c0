import { ChildProcess, spawn } from 'node:child_process';
import { APP_NODE_FLAGS } from './app-node-flags';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distPath } from './paths';
import { freePort } from './ports';

const MAIN = distPath('apps/tessera/src/main.js');

export interface SingleNode {
  url: string;
  publicKey: string;
  privateKey: string;
  dataDir: string;
  process: ChildProcess;
  output(): string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Removes the data dir (after stop). */
  cleanup(): void;
}

export interface SingleNodeOptions {
  dataDir?: string;
  env?: Record<string, string>;
  startTimeoutMs?: number;
  /** The built entry point to run (default: this checkout's dist/apps/tessera/src/main.js). */
  main?: string;
  cwd?: string;
  /** Its own process group (as a shell starts a foreground job): the test can signal the whole group. */
  detached?: boolean;
}

/**
 * Starts the built single-node server (`npm start` without the build step) as a client would see
 * it: its own embedded PostgreSQL under a temp data dir, the Postgres log, a free port.
 * Run `node scripts/build.js` first (npm test does).
 */
export async function startSingleNode(options: SingleNodeOptions = {}): Promise<SingleNode> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tessera-e2e-'));
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePort(dataDir, options);
    } catch (error) {
      // Another process bound the port between the check and the server's listen: try another one.
      if (attempt >= 3 || !/EADDRINUSE/.test((error as Error).message)) throw error;
    }
  }
}

async function startOnFreePort(dataDir: string, options: SingleNodeOptions): Promise<SingleNode> {
  const port = await freePort();
  const child = spawn(process.execPath, [...APP_NODE_FLAGS, options.main ?? MAIN], {
    env: { ...process.env, DATABASE_URL: '', KAFKA_BROKERS: '', PORT: String(port), HOST: '127.0.0.1', TESSERA_DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd,
    detached: options.detached,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not ready in time:\n${out}`);
    }
    const ready = await fetch(`${url}/health/ready`).then((r) => r.ok, () => false);
    if (ready && /private key: (\S+)/.test(out)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    publicKey: /public key: +(\S+)/.exec(out)![1],
    privateKey: /private key: (\S+)/.exec(out)![1],
    dataDir,
    process: child,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a value (not undefined) or the timeout passes. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export class ProfilesClient {
  constructor(
    readonly baseUrl: string,
    readonly publicKey: string,
    readonly privateKey: string,
  ) {}

  post(body: unknown, key: string | null = this.publicKey, headers: Record<string, string> = {}) {
    return fetch(`${this.baseUrl}/v3/profiles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}), ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, headers: r.headers, body: (await r.json().catch(() => undefined)) as any }));
  }

  get(query: string, key: string | null = this.privateKey) {
    return fetch(`${this.baseUrl}/v3/profiles?${query}`, { headers: key ? { 'x-api-key': key } : {} }).then(async (r) => ({
      status: r.status,
      headers: r.headers,
      body: (await r.json().catch(() => undefined)) as any,
    }));
  }

  /** The profile found by `query` once it satisfies `predicate`. */
  async until(query: string, predicate: (profile: Record<string, any>) => boolean = () => true, timeoutMs = 15_000) {
    return eventually(async () => {
      const r = await this.get(query);
      return r.status === 200 && predicate(r.body) ? (r.body as Record<string, any>) : undefined;
    }, timeoutMs);
  }
}
