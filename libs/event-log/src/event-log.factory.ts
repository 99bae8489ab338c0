import type { Pool } from 'pg';
import type { EventLog } from './event-log.port';
import { KafkaEventLog } from './kafka/kafka-event-log';
import { PostgresEventLog } from './postgres/postgres-event-log';

export interface EventLogSettings {
  /** Comma-separated bootstrap servers; unset → the Postgres log. */
  kafkaBrokers?: string;
  pool: Pool;
  connectionString: string;
  clientId?: string;
  /** Kafka only: replication factor and min.insync.replicas of created topics (see KafkaEventLogOptions). */
  replicationFactor?: number;
  minInsyncReplicas?: number;
  /** Kafka only: consumer-group session timeout. */
  sessionTimeoutMs?: number;
  logger?: { info(m: string, e?: Record<string, unknown>): void; warn(m: string, e?: Record<string, unknown>): void; error(m: string, e?: Record<string, unknown>): void };
}

/** Kafka when brokers are configured (scale-out), the Postgres log otherwise (single node). */
export function createEventLog(settings: EventLogSettings): EventLog {
  if (settings.kafkaBrokers) {
    return new KafkaEventLog({
      brokers: settings.kafkaBrokers.split(',').map((b) => b.trim()).filter(Boolean),
      clientId: settings.clientId ?? 'tessera',
      replicationFactor: settings.replicationFactor,
      minInsyncReplicas: settings.minInsyncReplicas,
      sessionTimeoutMs: settings.sessionTimeoutMs,
      logger: settings.logger,
    });
  }
  return new PostgresEventLog({ pool: settings.pool, connectionString: settings.connectionString, logger: settings.logger });
}
