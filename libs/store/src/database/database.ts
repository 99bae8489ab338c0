import { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';
import { PostgresLog1700000000000 } from '@tessera/event-log/postgres/postgres-log.migration';
import { ApiKeyEntity } from '../entities/api-key.entity';
import { ConsumerOffsetEntity } from '../entities/consumer-offset.entity';
import { IdentifierEntity } from '../entities/identifier.entity';
import { ProfileEntity } from '../entities/profile.entity';
import { TenantEntity } from '../entities/tenant.entity';
import { ProfileStore1700000000100 } from '../migrations/1700000000100-profile-store.migration';
import { HotUpdates1700000000200 } from '../migrations/1700000000200-hot-updates.migration';
import { DeadLetterOutbox1700000000300 } from '../migrations/1700000000300-dead-letter-outbox.migration';
import { ProjectionRules1700000000500 } from '../migrations/1700000000500-projection-rules.migration';
import { DeadLetters1700000000400 } from '../migrations/1700000000400-dead-letters.migration';
import { ProfileEvents1700000000600 } from '../migrations/1700000000600-profile-events.migration';
import { IdempotencyRequests1700000000700 } from '../migrations/1700000000700-idempotency-requests.migration';
import { CustomerFields1700000000800 } from '../migrations/1700000000800-customer-fields.migration';
import { ReadKeysConsents1700000000900 } from '../migrations/1700000000900-read-keys-consents.migration';
import { Erasures1700000001000 } from '../migrations/1700000001000-erasures.migration';
import { ProfileSearch1700000001100 } from '../migrations/1700000001100-profile-search.migration';
import { ProfileWrites1700000001200 } from '../migrations/1700000001200-profile-writes.migration';
import { ReplaySortCollation1700000001600 } from '../migrations/1700000001600-replay-sort-collation.migration';
import { SearchStatusColumn1700000001700 } from '../migrations/1700000001700-search-status-column.migration';
import { TenantAdmin1700000001300 } from '../migrations/1700000001300-tenant-admin.migration';
import { SearchPendingList1700000001400 } from '../migrations/1700000001400-search-pending-list.migration';
import { SearchStatusStatistics1700000001500 } from '../migrations/1700000001500-search-status-statistics.migration';
import { reconcileSearchAttributes, type SearchAttributesChange } from '../profile-search/search-attributes';
import { EmbeddedPostgresHandle, startEmbeddedPostgres } from './embedded-postgres.server';
import { keepPoolClientErrorsHandled } from './pool-client-errors';

export const ENTITIES = [TenantEntity, ApiKeyEntity, ProfileEntity, IdentifierEntity, ConsumerOffsetEntity];
export const MIGRATIONS = [
  PostgresLog1700000000000,
  ProfileStore1700000000100,
  HotUpdates1700000000200,
  DeadLetterOutbox1700000000300,
  DeadLetters1700000000400,
  ProjectionRules1700000000500,
  ProfileEvents1700000000600,
  IdempotencyRequests1700000000700,
  CustomerFields1700000000800,
  ReadKeysConsents1700000000900,
  Erasures1700000001000,
  ProfileSearch1700000001100,
  ProfileWrites1700000001200,
  TenantAdmin1700000001300,
  SearchPendingList1700000001400,
  SearchStatusStatistics1700000001500,
  ReplaySortCollation1700000001600,
  SearchStatusColumn1700000001700,
];

/** Any constant works; it only has to be the same in every Tessera process. */
const MIGRATION_LOCK_KEY = 7_361_029_114;
const EMBEDDED_DATABASE = 'tessera';

export interface Database {
  dataSource: DataSource;
  /** The driver's pool, shared with the Postgres log adapter. */
  pool: Pool;
  url: string;
  embedded?: EmbeddedPostgresHandle;
  migrationsRan: boolean;
  /** What the start changed in the declared search attributes (when it was asked to reconcile them). */
  searchAttributesChange?: SearchAttributesChange;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  databaseUrl?: string;
  dataDir: string;
  poolSize: number;
  log?: (line: string) => void;
  /** See EmbeddedPostgresOptions.onNotice. */
  notice?: (line: string) => void;
  /** See EmbeddedPostgresOptions.whenRunning. */
  whenEmbeddedRunning?: 'restart' | 'share';
  /** The declared search attributes to reconcile at start (TESSERA_SEARCH_ATTRIBUTES); undefined leaves them as they are. */
  searchAttributes?: readonly string[];
}

async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Runs pending migrations, then (when given) makes the declared search attributes exactly these;
 * concurrent starters queue on an advisory lock so only one migrates.
 */
export async function runMigrationsLocked(dataSource: DataSource, searchAttributes?: readonly string[]): Promise<SearchAttributesChange | undefined> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await dataSource.runMigrations({ transaction: 'each' });
    return searchAttributes ? await reconcileSearchAttributes(runner, searchAttributes) : undefined;
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await runner.release();
  }
}

export function createDataSource(url: string, poolSize: number): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: { max: poolSize, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 },
  });
}

/** DATABASE_URL when given, else an embedded PostgreSQL under `<dataDir>/pg`; migrations applied. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  let embedded: EmbeddedPostgresHandle | undefined;
  let url = options.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({
      dataDir: options.dataDir,
      onLog: options.log,
      onNotice: options.notice,
      whenRunning: options.whenEmbeddedRunning,
    });
    url = await ensureDatabase(embedded.url, EMBEDDED_DATABASE);
  }
  const dataSource = createDataSource(url, options.poolSize);
  let searchAttributesChange: SearchAttributesChange | undefined;
  try {
    await dataSource.initialize();
    keepPoolClientErrorsHandled((dataSource.driver as unknown as { master: Pool }).master);
    searchAttributesChange = await runMigrationsLocked(dataSource, options.searchAttributes);
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    await embedded?.stop();
    throw error;
  }
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', (e) => options.log?.(`[pool] ${e.message}`));
  return {
    dataSource,
    pool,
    url,
    embedded,
    migrationsRan: true,
    searchAttributesChange,
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await embedded?.stop();
    },
  };
}
