export * from './ids/uuid-v7';
export * from './profile-upserts/profile-upserts.topic';
export * from './profile-upserts/attribute-rules';
export * from './profile-upserts/event-time';
export * from './profile-upserts/profile-upsert.validator';
export * from './profile-upserts/profile-upsert.record';
