import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { distPath, repoRoot } from '../paths';

const CLI = distPath('apps/cli/src/main.js');
const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const cliEnv = (dataDir: string) => ({ ...process.env, DATABASE_URL: '', KAFKA_BROKERS: '', TESSERA_DATA_DIR: dataDir, LOG_LEVEL: 'warn' });

async function settle(started: Promise<{ stdout: string; stderr: string }>): Promise<CliResult> {
  try {
    const { stdout, stderr } = await started;
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The built CLI (`node dist/apps/cli/src/main.js …`) against a data dir; next to a running server it shares its PostgreSQL. */
export async function tesseraCli(dataDir: string, ...args: string[]): Promise<CliResult> {
  return settle(run(process.execPath, [CLI, ...args], { env: cliEnv(dataDir), timeout: 60_000 }));
}

/** Exactly what the README tells users to run: `npm run --silent tessera -- …` from the repository root. */
export async function npmTessera(dataDir: string, ...args: string[]): Promise<CliResult> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  return settle(run(npm, ['run', '--silent', 'tessera', '--', ...args], { cwd: repoRoot(), env: cliEnv(dataDir), timeout: 60_000 }));
}
