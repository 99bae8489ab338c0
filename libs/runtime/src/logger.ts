import pino, { Logger } from 'pino';

export type TesseraLogger = Logger;

/** JSON logs on stdout (pino). API keys are never passed to the logger. */
export function createLogger(level: string, name = 'tessera'): TesseraLogger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    redact: { paths: ['req.headers["x-api-key"]', 'headers["x-api-key"]', '*.apiKey', 'apiKey'], censor: '[redacted]' },
  });
}

/** Adapter for components that take `{ info, warn, error }(message, extra)`. */
export function logPort(logger: TesseraLogger) {
  return {
    info: (msg: string, extra?: Record<string, unknown>) => logger.info(extra ?? {}, msg),
    warn: (msg: string, extra?: Record<string, unknown>) => logger.warn(extra ?? {}, msg),
    error: (msg: string, extra?: Record<string, unknown>) => logger.error(extra ?? {}, msg),
  };
}
