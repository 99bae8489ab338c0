export { PostgresEventLog, UnknownTopicError } from './postgres-event-log';
export type { PostgresEventLogOptions, PostgresLogLogger, SqlQuery } from './postgres-event-log';
export { PostgresLog1700000000000, POSTGRES_LOG_UP_SQL, POSTGRES_LOG_DOWN_SQL } from './postgres-log.migration';
