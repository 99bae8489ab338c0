import { DataSource } from 'typeorm';
import { buildProfileUpsertRecords, PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC, validateProfileUpsertBody } from '@tessera/contracts';
import { LogRecord, PostgresEventLog, RecordBatch } from '@tessera/event-log';
import { IdentifierRules } from '@tessera/identity';
import { createDataSource, runMigrationsLocked, TenantRepository } from '@tessera/store';
import { createTestDatabase, TestDatabase } from './database';

export const silentLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A migrated database, a Postgres log on it and the repositories the worker uses. */
export interface ProjectionFixture {
  db: TestDatabase;
  dataSource: DataSource;
  eventLog: PostgresEventLog;
  tenants: TenantRepository;
  close(): Promise<void>;
}

export async function createProjectionFixture(partitions = 4): Promise<ProjectionFixture> {
  const db = await createTestDatabase('proj');
  const dataSource = createDataSource(db.url, 10);
  await dataSource.initialize();
  await runMigrationsLocked(dataSource);
  const pool = (dataSource.driver as unknown as { master: import('pg').Pool }).master;
  const eventLog = new PostgresEventLog({ pool, connectionString: db.url, logger: silentLogger });
  await eventLog.ensureTopics([
    { name: PROFILE_UPSERTS_TOPIC, partitions },
    { name: PROFILE_UPSERTS_DLQ_TOPIC, partitions: 1 },
  ]);
  return {
    db,
    dataSource,
    eventLog,
    tenants: new TenantRepository(dataSource),
    async close() {
      await eventLog.close();
      await dataSource.destroy();
      await db.drop();
    },
  };
}

/** Validated and encoded like ingest does; throws on an invalid item (a test bug). */
export function encodeUpserts(items: Array<Record<string, unknown>>, tenant = 'default') {
  const rules = IdentifierRules.defaults();
  const receivedAt = new Date();
  const v = validateProfileUpsertBody(items.map((attributes) => ({ attributes })), rules, { receivedAt, maxItems: items.length });
  if (!v.ok) throw new Error(JSON.stringify(v));
  return buildProfileUpsertRecords(tenant, v.items, receivedAt, rules);
}

/** A batch as a consumer would deliver it, for driving the projector directly. */
export function batchOf(partition: number, values: Array<{ key: string; value: string; headers: Record<string, string> }>, firstOffset = 0): RecordBatch {
  const records: LogRecord[] = values.map((v, i) => ({
    topic: PROFILE_UPSERTS_TOPIC,
    partition,
    offset: firstOffset + i,
    key: v.key,
    value: Buffer.from(v.value),
    headers: v.headers,
    timestamp: new Date().toISOString(),
  }));
  return { topic: PROFILE_UPSERTS_TOPIC, partition, records, highWatermark: firstOffset + records.length };
}

/** Profiles and identifiers as comparable rows (ids included). */
export async function projectionState(dataSource: DataSource) {
  const profiles = await dataSource.query(
    `SELECT tenant, id, attributes, attribute_versions, created_at, updated_at, merged_into FROM profiles ORDER BY tenant, id`,
  );
  const identifiers = await dataSource.query(
    `SELECT tenant, type, value, profile_id, confidence, first_seen, last_seen FROM identifiers ORDER BY tenant, type, value`,
  );
  const events = await dataSource.query(`SELECT tenant, id, profile_id, type, action, ts, identifiers, data FROM profile_events ORDER BY tenant, id`);
  return { profiles, identifiers, events };
}
