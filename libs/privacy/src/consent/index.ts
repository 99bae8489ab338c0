export * from './consent.module';
export * from './consent.service';
