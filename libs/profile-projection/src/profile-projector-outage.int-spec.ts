import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { PostgresEventLog } from '@tessera/event-log';
import { Database, isConnectionError, openDatabase, ProfileQueryRepository, TenantRepository } from '@tessera/store';
import { PostgresProcess, startPostgresProcess } from '@tessera/testing/embedded-postgres-process';
import { batchOf, encodeUpserts, silentLogger } from '@tessera/testing/projection-fixture';
import { ProfileProjector } from './profile-projector.service';

// A PostgreSQL server of its own, so the test can stop it under the worker.
describe('given the database goes away under the worker', () => {
  let dir: string;
  let pg: PostgresProcess;
  let db: Database;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-outage-'));
    pg = await startPostgresProcess(dir);
    db = await openDatabase({ databaseUrl: pg.url, dataDir: dir, poolSize: 4 });
  });

  afterAll(async () => {
    await db.close().catch(() => undefined);
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when a batch arrives during the outage, then it fails as retriable (nothing dead-lettered) and applies once the database is back', async () => {
    const eventLog = new PostgresEventLog({ pool: db.pool, connectionString: db.url, logger: silentLogger });
    await eventLog.ensureTopics([{ name: PROFILE_UPSERTS_TOPIC, partitions: 1 }, { name: PROFILE_UPSERTS_DLQ_TOPIC, partitions: 1 }]);
    const tenants = new TenantRepository(db.dataSource);
    await tenants.identifierRules('default'); // cached: the outage hits the projection itself
    const projector = new ProfileProjector(db.dataSource, eventLog, tenants, silentLogger);
    const batch = batchOf(0, encodeUpserts([{ email: 'outage@example.com', n: 1 }, { email: 'outage@example.com', n: 2 }]));

    await pg.stop();
    const failure = await projector.handleBatch(batch).then(() => undefined, (e: unknown) => e);
    expect(failure).toBeDefined();
    expect(isConnectionError(failure)).toBe(true);
    expect(projector.stats.deadLettered).toBe(0);

    pg = await startPostgresProcess(dir, pg.port);
    let applied = false;
    for (let attempt = 0; attempt < 50 && !applied; attempt++) {
      applied = await projector.handleBatch(batch).then(() => true, () => false);
      if (!applied) await new Promise((r) => setTimeout(r, 200));
    }
    expect(applied).toBe(true);
    const profile = await new ProfileQueryRepository(db.dataSource).findByIdentifier('default', 'email', 'outage@example.com');
    expect(profile?.attributes.n).toBe(2);
    expect(await projector.startOffset(PROFILE_UPSERTS_TOPIC, 0)).toBe(2);
    expect(projector.stats.deadLettered).toBe(0);
    await eventLog.close();
  });
});
