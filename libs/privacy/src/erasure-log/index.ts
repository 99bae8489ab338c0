export { ErasureLogCompleter } from './erasure-log-completer';
export type { ErasureLogLogger, ErasureLogOptions, ErasureLogRound } from './erasure-log-completer';
export { ErasureLogModule, ErasureLogService } from './erasure-log.module';
export { ErasedIdentifiers, identifierHashesOf, namesErasedPerson, parseValue, redactedValue } from './log-redaction';
