export * from './problem.dto';
export * from './zaius-errors.dto';
