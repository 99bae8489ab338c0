import { ChildProcess, spawn } from 'node:child_process';
import { APP_NODE_FLAGS } from './app-node-flags';
import { createDataSource, TenantRepository } from '@tessera/store';
import { freePort } from './ports';
import { distPath } from './paths';
import { eventually } from './single-node-server';

/** One built Tessera app (`dist/apps/<name>/src/main.js`) running as its own process. */
export interface AppProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts a built app on a free port with `env` over the test's environment; resolves once /health/ready answers 200. */
export async function startAppProcess(name: 'ingest' | 'worker' | 'query', env: Record<string, string>, readyTimeoutMs = 60_000): Promise<AppProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...APP_NODE_FLAGS, distPath(`apps/${name}/src/main.js`)], {
    env: { ...process.env, KAFKA_BROKERS: '', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${out}`);
    return (await fetch(`${url}/health/ready`).then((r) => r.ok, () => false)) || undefined;
  }, readyTimeoutMs, 100).catch((error) => {
    child.kill('SIGKILL');
    throw new Error(`${name} not ready: ${(error as Error).message}\n${out}`);
  });
  return {
    url,
    child,
    output: () => out,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A tenant and a new key of it, written straight to the database the separate apps share (they have no CLI here). */
export async function createTenantKey(databaseUrl: string, tenant: string, kind: 'public' | 'read' | 'private'): Promise<string> {
  const dataSource = createDataSource(databaseUrl, 1);
  await dataSource.initialize();
  try {
    const tenants = new TenantRepository(dataSource);
    await tenants.ensureTenant(tenant);
    return await tenants.createApiKey(tenant, kind);
  } finally {
    await dataSource.destroy();
  }
}
