export * from './metric-labels';
export * from './tessera-metrics';
export * from './metrics-of';
export * from './http-metrics.hook';
export * from './log-append-metrics';
export * from './metrics.controller';
