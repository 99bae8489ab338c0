import { DataSource, QueryRunner } from 'typeorm';

/** Shared by every running projector, exclusive for a replay: a replay never runs beside a worker. */
const PROJECTION_LOCK_KEY = 7_361_029_115;

export interface ProjectionLease {
  release(): Promise<void>;
}

async function hold(dataSource: DataSource, sql: string): Promise<{ runner: QueryRunner; ok: boolean }> {
  // A session of its own: the lock lives as long as this connection (a killed process drops it).
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    const [row] = await runner.query(sql, [PROJECTION_LOCK_KEY]);
    return { runner, ok: row.ok === true };
  } catch (error) {
    await runner.release();
    throw error;
  }
}

function lease(runner: QueryRunner, unlock: string): ProjectionLease {
  return {
    async release() {
      await runner.query(unlock, [PROJECTION_LOCK_KEY]).catch(() => undefined);
      await runner.release();
    },
  };
}

/** Taken by a worker's projector while it runs; waits while a replay holds the projections. */
export async function acquireWorkerLease(dataSource: DataSource, onWait?: () => void): Promise<ProjectionLease> {
  for (;;) {
    const { runner, ok } = await hold(dataSource, 'SELECT pg_try_advisory_lock_shared($1) AS ok');
    if (ok) return lease(runner, 'SELECT pg_advisory_unlock_shared($1)');
    await runner.release();
    onWait?.();
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * Whether a replay holds its lease right now (any session of this database): it may hold copies of log
 * records in memory until it ends. One query, for whoever must wait for it (the erasure completer).
 */
export async function replayRunning(sql: { query(text: string, params?: unknown[]): Promise<unknown> }): Promise<boolean> {
  // A bigint advisory key shows in pg_locks as its high and low 32 bits.
  const rows = (await sql.query(
    `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ExclusiveLock' AND granted
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND classid = ($1::bigint >> 32)::oid AND objid = ($1::bigint & 4294967295)::oid AND objsubid = 1) AS running`,
    [PROJECTION_LOCK_KEY],
  )) as Array<{ running: boolean }>;
  return rows[0]?.running === true;
}

/** Taken by a replay; refused while any worker runs against this database. */
export async function acquireReplayLease(dataSource: DataSource): Promise<ProjectionLease> {
  const { runner, ok } = await hold(dataSource, 'SELECT pg_try_advisory_lock($1) AS ok');
  if (!ok) {
    await runner.release();
    throw new Error('a worker is running against this database: stop the worker (or the single-node server) before replaying');
  }
  return lease(runner, 'SELECT pg_advisory_unlock($1)');
}
