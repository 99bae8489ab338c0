/**
 * What an error thrown while applying records means, in one place (issue 8 item 3):
 *
 * - `data`: the record itself can never apply (SQLSTATE class 22 data exception, 23 integrity
 *   constraint, or a `PoisonRecordError` raised by parsing/validation). Only these are isolated
 *   and dead-lettered.
 * - `connection`: the database cannot be reached right now (08*, admin/crash shutdown, cannot connect
 *   now, too many connections, socket errors). Retried with back-off for as long as it takes.
 * - `transient`: everything else — statement/lock timeouts, read-only during a failover, out of
 *   shared memory, deadlocks, serialisation failures, stale snapshots, unknown errors. Retried with
 *   back-off; after a bounded number of attempts the failure is surfaced (readiness fails) while
 *   the partition keeps retrying. Never dead-lettered: a valid record must not be skipped.
 */
export type ErrorClass = 'data' | 'connection' | 'transient';

/** Thrown by code that found a record can never apply (bad shape, invalid value): poison. */
export class PoisonRecordError extends Error {
  override readonly name = 'PoisonRecordError';
}

const CONNECTION_CODES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovering)
  '57P05', // idle_session_timeout
  '53300', // too_many_connections: the server refuses new sessions
]);

const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

const CONNECTION_MESSAGE =
  /Connection terminated|connection timeout|Client has encountered a connection error|not queryable|timeout exceeded when trying to connect|Cannot use a pool after calling end|Connection is not established/i;

/** SQLSTATE (or Node socket code) of a driver error, also when wrapped by TypeORM (QueryFailedError). */
export function errorCode(error: unknown): string {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null | undefined;
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' ? code : '';
}

/** The database is not reachable right now: retry later, never a data problem. */
export function isConnectionError(error: unknown): boolean {
  const code = errorCode(error);
  if (code.startsWith('08') || CONNECTION_CODES.has(code) || SOCKET_CODES.has(code)) return true;
  const message = (error as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' && CONNECTION_MESSAGE.test(message);
}

/** The record's own data cannot be stored (22 data exception, 23 integrity constraint, poison). */
export function isDataError(error: unknown): boolean {
  if (error instanceof PoisonRecordError) return true;
  const code = errorCode(error);
  return code.startsWith('22') || code.startsWith('23');
}

/**
 * A database condition that passes (busy, timed out, failing over, out of resources): an HTTP caller
 * gets 503 and retries, as for connection loss. Bugs (syntax, missing table: class 42) stay 500.
 */
export function isPassingDatabaseError(error: unknown): boolean {
  if (isConnectionError(error)) return true;
  const code = errorCode(error);
  return /^(40|53|55|57|58)/.test(code) || code === '25006';
}

export function classifyError(error: unknown): ErrorClass {
  if (isConnectionError(error)) return 'connection';
  if (isDataError(error)) return 'data';
  return 'transient';
}

/** Message of any thrown value, for logs and the DLQ `error` header. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
