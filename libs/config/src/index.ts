export * from './env.validation';
export * from './tessera.env';
export * from './duration';
