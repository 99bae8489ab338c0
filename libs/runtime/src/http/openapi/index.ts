export * from './problem.dto';
export * from './zaius-errors.dto';
export * from './openapi-3-1';
export * from './openapi-document';
export * from './openapi-document.holder';
export * from './openapi.module';
export * from './docs-assets';
export * from './schemas';
