export * from './compliance.module';
export * from './compliance.service';
