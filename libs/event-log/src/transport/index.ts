/** The NestJS microservice transport over the EventLog port: `@RecordBatchPattern` handlers per record kind and group. */
export { EventLogTransport, UnroutableRecordError } from './event-log.transport';
export type {
  ConsumerGroupOptions,
  EventLogTransportEvents,
  EventLogTransportHealth,
  EventLogTransportLogger,
  EventLogTransportOptions,
  EventLogTransportStatus,
} from './event-log.transport';
export { ANY_OTHER_SCHEMA, CheckpointSource, EVENT_LOG_TRANSPORT, RecordBatchPattern, RecordBatchPreparer } from './record-batch-pattern.decorator';
export type { RecordBatchRoute } from './record-batch-pattern.decorator';
export { ConsumerGroupContext, RecordBatchContext } from './record-batch.context';
export type { AssignedPartition } from './record-batch.context';
export { SCHEMA_HEADER, splitIntoRuns } from './record-runs';
export type { RecordRun } from './record-runs';
