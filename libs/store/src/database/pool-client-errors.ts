import type { Pool, PoolClient } from 'pg';

/**
 * Gives every new pooled connection an 'error' listener for its whole life. When PostgreSQL shuts down
 * right as a connection starts, its FATAL (57P01) can arrive in the same read as the ReadyForQuery:
 * pg-pool hands the connection out inside that read, and the driver emits the error before the caller
 * (TypeORM's query runner, withTransaction) has attached its own listener a microtask later — with no
 * listener at all, Node ends the process. The error still fails the holder's queries, and the pool drops
 * the broken connection when it is released.
 */
export function keepPoolClientErrorsHandled(pool: Pool, onError?: (error: Error) => void): void {
  pool.on('connect', (client: PoolClient) => {
    client.on('error', (error: Error) => onError?.(error));
  });
}
