export * from './erasure-log';
export * from './compliance';
export * from './consent';
