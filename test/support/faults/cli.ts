import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { distPath } from '../paths';

const CLI = distPath('apps/cli/src/main.js');
const run = promisify(execFile);

/** `npm run tessera -- …` (the built CLI) against a data dir; next to a running server it shares its PostgreSQL. */
export async function tesseraCli(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, DATABASE_URL: '', KAFKA_BROKERS: '', TESSERA_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
