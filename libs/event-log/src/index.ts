export * from './event-log.factory';
export * from './event-log.port';
export * from './kafka/kafka-event-log';
export * from './partitioner';
export * from './postgres/postgres-event-log';
