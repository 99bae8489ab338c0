import type { ModuleRef } from '@nestjs/core';
import { ERASURE_SCHEMA, parseErasureRecord, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { PostgresEventLog } from '@tessera/event-log';
import { ProfileIngestService } from '@tessera/profile-ingest';
import { ProfileProjector } from '@tessera/profile-projection';
import { ApiProblemException, TenantRateLimiter, TesseraLogger } from '@tessera/runtime';
import { ErasureRequestsRepository, IdentifierHasher } from '@tessera/store';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, silentLogger } from '@tessera/testing/projection-fixture';
import { ComplianceService } from './compliance.service';

const logger = { warn: () => undefined, info: () => undefined, error: () => undefined, debug: () => undefined } as unknown as TesseraLogger;
let fx: ProjectionFixture;

beforeEach(async () => {
  fx = await createProjectionFixture(8);
});
afterEach(async () => {
  await fx.close();
});

/** The service as the app wires it, publishing through the given log. */
function complianceOver(eventLog: PostgresEventLog): ComplianceService {
  const limiter = new TenantRateLimiter(fx.tenants, { itemsPerSecond: 1000, burst: 1000 });
  const ingest = new ProfileIngestService(eventLog, fx.tenants, logger, 2000, limiter);
  const service = new ComplianceService(fx.dataSource, fx.tenants, { get: () => ingest } as unknown as ModuleRef, logger);
  service.onModuleInit();
  return service;
}

const request = (value: string) => [{ requester: 'dpo@tenant.example', identifier_field_name: 'email', identifier_value: value }];

describe('ComplianceService', () => {
  it('given a projected person, when erasure is requested, then the status row and an erasure.v1 record exist, on the partition of her records, naming her profile and never her email', async () => {
    const upserts = encodeUpserts([{ email: 'ann@example.com', first_name: 'Ann' }]);
    await new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger).handleBatch(batchOf(0, upserts));
    const [{ id: profileId }] = await fx.dataSource.query(`SELECT id FROM profiles`);
    const [upsertAt] = await fx.eventLog.produce(PROFILE_UPSERTS_TOPIC, upserts);

    const [requestId] = await complianceOver(fx.eventLog).requestErasure('default', 'gdpr', request(' ANN@example.com'));

    expect(await new ErasureRequestsRepository(fx.dataSource).status('default', requestId)).toBe('IN_PROGRESS');
    const rows: Array<{ partition: number; key: string; value: Buffer; headers: Record<string, string> }> = await fx.dataSource.query(
      `SELECT partition, key, value, headers FROM log_records WHERE topic = $1 AND headers->>'schema' = $2`,
      [PROFILE_UPSERTS_TOPIC, ERASURE_SCHEMA],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].partition).toBe(upsertAt.partition);
    const parsed = parseErasureRecord(rows[0].value);
    if (!parsed.ok) throw new Error(parsed.error);
    const hasher = await IdentifierHasher.load(fx.dataSource);
    expect(parsed.record).toMatchObject({ requestId, regulation: 'gdpr', identifierType: 'email', identifierHash: hasher.hash('default', 'email', 'ann@example.com'), profileId });
    expect(rows[0].key).toBe(parsed.record.id);
    expect(`${rows[0].key} ${rows[0].value.toString()} ${JSON.stringify(rows[0].headers)}`).not.toMatch(/ann@example\.com/i);
    const [row] = await fx.dataSource.query(`SELECT * FROM erasure_requests`);
    expect(row).toMatchObject({ id: requestId, tenant: 'default', regulation: 'gdpr', requester: 'dpo@tenant.example', record_id: parsed.record.id, applied_at: null, completed_at: null });
    expect(JSON.stringify(row)).not.toMatch(/ann@example\.com/i);
  });

  it('given a log that cannot take the records, when erasure is requested, then 503 and no status row is left IN_PROGRESS', async () => {
    const pool = (fx.dataSource.driver as unknown as { master: import('pg').Pool }).master;
    const closed = new PostgresEventLog({ pool, connectionString: fx.db.url, logger: silentLogger });
    await closed.close();
    const failure = await complianceOver(closed).requestErasure('default', 'ccpa', request('bob@example.com')).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApiProblemException);
    expect((failure as ApiProblemException).getStatus()).toBe(503);
    expect(await fx.dataSource.query(`SELECT * FROM erasure_requests`)).toEqual([]);
  });

  it('given a request whose record was applied although produce reported a failure, then its row stays', async () => {
    const requests = new ErasureRequestsRepository(fx.dataSource);
    const row = { tenant: 'default', regulation: 'gdpr', requester: 'dpo', identifierType: 'email', identifierHash: 'a'.repeat(64), requestedAt: new Date() };
    await requests.insert([{ ...row, id: 'applied', recordId: 'r1' }, { ...row, id: 'pending', recordId: 'r2' }]);
    await fx.dataSource.query(`UPDATE erasure_requests SET applied_at = now() WHERE id = 'applied'`);
    expect(await requests.forgetUnapplied(['applied', 'pending'])).toBe(1);
    expect(await fx.dataSource.query(`SELECT id FROM erasure_requests`)).toEqual([{ id: 'applied' }]);
  });

  it('given invalid items, then 400 and nothing is stored or published', async () => {
    const failure = await complianceOver(fx.eventLog)
      .requestErasure('default', 'gdpr', [...request('ok@example.com'), { requester: 'dpo', identifier_field_name: 'email', identifier_value: 'nope' }])
      .catch((e: unknown) => e);
    expect((failure as ApiProblemException).getStatus()).toBe(400);
    expect((failure as ApiProblemException).detail).toEqual({ invalids: [{ event: 1, message: expect.stringContaining('`identifier_value`') }] });
    expect(await fx.dataSource.query(`SELECT * FROM erasure_requests`)).toEqual([]);
    expect(await fx.dataSource.query(`SELECT 1 FROM log_records`)).toEqual([]);
  });
});
