import type { EventLog } from '@tessera/event-log';
import type { TesseraMetrics } from './tessera-metrics';

const TIMED = Symbol('tessera.metrics.timed-appends');

/**
 * Times every `produce` of this event log instance (ingest, native writes, erasure, dead-letter
 * outbox): the instance's method is wrapped in place, so `instanceof` checks on the adapter still
 * hold. Idempotent: an instance is wrapped once.
 */
export function timeLogAppends(eventLog: EventLog, metrics: TesseraMetrics): void {
  const log = eventLog as EventLog & { [TIMED]?: true };
  if (log[TIMED]) return;
  log[TIMED] = true;
  const produce = log.produce.bind(log);
  log.produce = async (topic, records) => {
    const end = metrics.logAppendDuration.startTimer({ topic });
    try {
      const produced = await produce(topic, records);
      end({ outcome: 'ok' });
      metrics.logAppendedRecords.inc({ topic }, produced.length);
      return produced;
    } catch (error) {
      end({ outcome: 'error' });
      throw error;
    }
  };
}
