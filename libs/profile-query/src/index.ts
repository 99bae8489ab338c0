export * from './profile-query.module';
