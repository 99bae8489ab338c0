export * from './erasure-log';
export * from './compliance';
