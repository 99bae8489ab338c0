export * from './profile-api.module';
