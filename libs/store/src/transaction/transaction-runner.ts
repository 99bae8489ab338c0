import { DataSource, EntityManager } from 'typeorm';

/** PostgreSQL error codes worth retrying the whole transaction for. */
const RETRIABLE_CODES = new Set(['40P01' /* deadlock */, '40001' /* serialization failure */]);

/** Thrown by a unit of work that found its snapshot stale (e.g. a profile merged concurrently). */
export class StaleSnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StaleSnapshotError';
  }
}

/** Raised by the identity graph when its slice missed a profile another batch linked meanwhile. */
const STALE_SNAPSHOT_NAMES = new Set(['StaleSnapshotError', 'IncompleteSnapshotError']);

export function isRetriableTransactionError(error: unknown): boolean {
  if (error instanceof StaleSnapshotError || STALE_SNAPSHOT_NAMES.has((error as Error | undefined)?.name ?? '')) return true;
  const code = (error as { code?: string; driverError?: { code?: string } })?.driverError?.code ?? (error as { code?: string })?.code;
  return code !== undefined && RETRIABLE_CODES.has(code);
}

export interface TransactionOptions {
  /** Attempts in all, for deadlocks / serialization failures / stale snapshots. Default 8. */
  attempts?: number;
}

/**
 * The one place that owns a query runner: starts a transaction, passes its manager down,
 * retries deadlocks and serialization failures with jittered back-off, always releases.
 */
export async function runInTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 8;
  for (let attempt = 1; ; attempt++) {
    const runner = dataSource.createQueryRunner();
    try {
      await runner.connect();
      await runner.startTransaction();
      const result = await work(runner.manager);
      await runner.commitTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      if (attempt >= attempts || !isRetriableTransactionError(error)) throw error;
      await new Promise((r) => setTimeout(r, Math.min(1000, 10 * 2 ** attempt) * (0.5 + Math.random())));
    } finally {
      await runner.release();
    }
  }
}
