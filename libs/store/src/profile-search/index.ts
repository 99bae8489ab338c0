export * from './profile-search.types';
export * from './profile-search.sql';
export * from './profile-search.repository';
export * from './search-attributes';
