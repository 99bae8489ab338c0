export * from './profile-ingest.module';
export * from './profile-ingest.service';
export * from './ingest-kinds';
