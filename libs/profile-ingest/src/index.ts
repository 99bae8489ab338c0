export * from './profile-ingest.module';
export * from './profile-ingest.service';
export * from './profile-ingest.lean-route';
export * from './ingest-kinds';
