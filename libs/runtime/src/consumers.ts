// Imported as @tessera/runtime/consumers (not from the index): only apps that consume load @nestjs/microservices.
import type { INestApplication } from '@nestjs/common';
import type { EventLog } from '@tessera/event-log';
import { EventLogTransport } from '@tessera/event-log/transport';
import { ReadinessRegistry } from './health/readiness.registry';
import { logPort, TesseraLogger } from './logger';

export interface ConnectedConsumers {
  /** Call once the app serves: a fatal group seen earlier stops the process only from then on. */
  started(): void;
  /** Throws after the orderly stop if a consumer group stopped for good (the exit code is then 1). */
  assertNotFatal(): void;
}

/**
 * Makes an app hybrid: its consumer groups run on the EventLog transport and report to readiness.
 * A group the log will not restart sends one SIGTERM to this process once started, so the orderly
 * shutdown runs (HTTP stops, in-flight batches commit, the database closes) and the exit code is 1.
 */
export function connectConsumers(app: INestApplication, eventLog: EventLog, maxBatchRecords: number, logger: TesseraLogger): ConnectedConsumers {
  const consumers = new EventLogTransport({ eventLog, logger: logPort(logger.child({ component: 'consumers' })), maxBatchRecords });
  app.connectMicroservice({ strategy: consumers });
  app.get(ReadinessRegistry).register('consumers', () => consumers.check());
  let fatal: Error | undefined;
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  consumers.on('fatal', (error: Error) => {
    if (fatal) return;
    fatal = error;
    void running.then(() => process.kill(process.pid, 'SIGTERM'));
  });
  return {
    started,
    assertNotFatal() {
      if (fatal) throw new Error(`a consumer group stopped for good: ${fatal.message}`);
    },
  };
}
