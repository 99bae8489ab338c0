import { PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import type { CommonEnv } from '@tessera/config';
import { createEventLog, EventLog } from '@tessera/event-log';
import { Database, openDatabase, ProfileQueryRepository, TenantRepository } from '@tessera/store';
import { logPort, TesseraLogger } from './logger';

/** What every Tessera process stands on: PostgreSQL (migrated), the event log, the repositories. */
export interface Infrastructure {
  env: CommonEnv;
  logger: TesseraLogger;
  database: Database;
  eventLog: EventLog;
  tenants: TenantRepository;
  profiles: ProfileQueryRepository;
  close(): Promise<void>;
}

export async function startInfrastructure(
  env: CommonEnv,
  logger: TesseraLogger,
  options: { whenEmbeddedRunning?: 'restart' | 'share' } = {},
): Promise<Infrastructure> {
  const database = await openDatabase({
    databaseUrl: env.DATABASE_URL,
    dataDir: env.TESSERA_DATA_DIR,
    poolSize: env.TESSERA_DB_POOL_SIZE,
    log: (line) => logger.debug({ component: 'postgres' }, line),
    notice: (line) => logger.info({ component: 'postgres' }, line),
    whenEmbeddedRunning: options.whenEmbeddedRunning,
    searchAttributes: env.searchAttributes,
  });
  const declared = database.searchAttributesChange;
  if (declared && (declared.added.length || declared.dropped.length)) logger.info(declared, 'declared search attributes changed (TESSERA_SEARCH_ATTRIBUTES)');
  if (database.embedded?.owner !== undefined) {
    const { port, dataDir, owner } = database.embedded;
    logger.info({ port, dataDir, owner }, 'sharing the embedded PostgreSQL of another Tessera process on this data dir (it stops with that process)');
  } else if (database.embedded) {
    const { port, dataDir, pgDir } = database.embedded;
    logger.info({ port, dataDir, pgDir }, 'embedded PostgreSQL started');
  }
  let eventLog: EventLog | undefined;
  try {
    eventLog = createEventLog({
      kafkaBrokers: env.KAFKA_BROKERS,
      replicationFactor: env.TESSERA_KAFKA_REPLICATION_FACTOR,
      minInsyncReplicas: env.TESSERA_KAFKA_MIN_INSYNC_REPLICAS,
      sessionTimeoutMs: env.TESSERA_KAFKA_SESSION_TIMEOUT_MS,
      pool: database.pool,
      connectionString: database.url,
      logger: logPort(logger.child({ component: 'event-log' })),
    });
    // Records must be deletable (erasure, DESIGN §11): on Kafka a compacted topic keyed by record id.
    const deletable = { maxCompactionLagMs: env.kafkaMaxCompactionLagMs };
    await eventLog.ensureTopics([
      { name: PROFILE_UPSERTS_TOPIC, partitions: env.TESSERA_PARTITIONS ?? (env.KAFKA_BROKERS ? 8 : 1), retentionMs: -1, deletable },
      { name: PROFILE_UPSERTS_DLQ_TOPIC, partitions: 1, retentionMs: -1, deletable },
    ]);
  } catch (error) {
    await eventLog?.close().catch(() => undefined);
    await database.close();
    throw error;
  }
  const log = eventLog;
  logger.info({ engine: log.engine }, 'event log ready');
  return {
    env,
    logger,
    database,
    eventLog: log,
    tenants: new TenantRepository(database.dataSource),
    profiles: new ProfileQueryRepository(database.dataSource),
    async close() {
      await log.close().catch((e) => logger.warn({ err: e }, 'closing the event log failed'));
      await database.close();
    },
  };
}
