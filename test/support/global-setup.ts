import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../libs/store/src/database/embedded-postgres.server';

// One real PostgreSQL server for the whole run; each test file makes its own database on it
// (test/support/database.ts). DATABASE_URL in the environment points tests at an external server instead.
export default async function globalSetup(): Promise<void> {
  // Process-level tests (e2e, crash, outage) run the built code: keep dist/ current.
  execFileSync(process.execPath, [join(__dirname, '../../scripts/build.js'), '--quiet'], { stdio: 'inherit' });
  if (process.env.TESSERA_TEST_DATABASE_URL) return;
  if (process.env.DATABASE_URL) {
    process.env.TESSERA_TEST_DATABASE_URL = process.env.DATABASE_URL;
    return;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-test-pg-'));
  const pg = await startEmbeddedPostgres({ dataDir });
  process.env.TESSERA_TEST_DATABASE_URL = pg.url;
  (globalThis as Record<string, unknown>).__TESSERA_TEST_PG__ = pg;
}
