export * from './profile-projection.module';
export * from './profile-projection.consumer';
export * from './profile-projector.service';
export * from './projection-rules.check';
