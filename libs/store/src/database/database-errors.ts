// Kept for existing importers; the classification lives in error-classification.ts.
export { isConnectionError } from './error-classification';
