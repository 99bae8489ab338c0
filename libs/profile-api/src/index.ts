export * from './profile-api.module';
export * from './native-writes-api.module';
export * from './profile-reads/profile-view';
export * from './profile-reads/profile-reads.port';
export * from './profile-writes/profile-writes.port';
export * from './profile-reads/profile-reads.module';
export * from './profile-reads/profile-reads.service';
