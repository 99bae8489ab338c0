export * from './record-envelope';
export * from './record-kinds';
