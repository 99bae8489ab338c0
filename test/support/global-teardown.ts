import { rmSync } from 'node:fs';
import type { EmbeddedPostgresHandle } from '../../libs/store/src/database/embedded-postgres.server';

export default async function globalTeardown(): Promise<void> {
  const pg = (globalThis as Record<string, unknown>).__TESSERA_TEST_PG__ as EmbeddedPostgresHandle | undefined;
  if (!pg) return;
  await pg.stop();
  rmSync(pg.dataDir, { recursive: true, force: true });
}
