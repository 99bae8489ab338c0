import type { Infrastructure } from '../infrastructure';
import { timeLogAppends } from './log-append-metrics';
import { TesseraMetrics } from './tessera-metrics';

const byInfrastructure = new WeakMap<Infrastructure, TesseraMetrics>();

/**
 * The metrics of one process's infrastructure: created on first use with the database pool and the
 * event log's appends already watched. One per infrastructure, so every app built on it (tests build
 * several) counts into the same registry and the log is wrapped once.
 */
export function metricsOf(infra: Infrastructure): TesseraMetrics {
  let metrics = byInfrastructure.get(infra);
  if (!metrics) {
    metrics = new TesseraMetrics();
    if (infra.database?.pool) metrics.watchPool(infra.database.pool);
    if (infra.eventLog) timeLogAppends(infra.eventLog, metrics);
    byInfrastructure.set(infra, metrics);
  }
  return metrics;
}
