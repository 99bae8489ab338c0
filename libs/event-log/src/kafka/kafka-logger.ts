import { logLevel, type logCreator } from 'kafkajs';

type LogFn = (message: string, extra?: Record<string, unknown>) => void;

/** Message first, structured fields second (the shape createEventLog passes); debug is optional. */
export interface KafkaEventLogLogger {
  debug?: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const noop: LogFn = () => undefined;

/** Default: warnings and errors on stderr, nothing else — KafkaJS's own default is chatty JSON at INFO. */
export const consoleWarnLogger: KafkaEventLogLogger = {
  debug: noop,
  info: noop,
  warn: (msg, extra) => console.warn(`[kafka-event-log] ${msg}`, extra ?? ''),
  error: (msg, extra) => console.error(`[kafka-event-log] ${msg}`, extra ?? ''),
};

export const silentLogger: KafkaEventLogLogger = { debug: noop, info: noop, warn: noop, error: noop };

// Known, expected KafkaJS complaints that would otherwise read like faults:
// - limiting idempotent-producer retries is deliberate (produce is bounded by produceTimeoutMs);
// - TOPIC_ALREADY_EXISTS is how a concurrent ensureTopics learns a topic exists.
const EXPECTED = [/Limiting retries for the idempotent producer/, /Topic with this name already exists/];

/**
 * Routes KafkaJS's log entries into the adapter's logger. KafkaJS ERROR lines are mostly errors it
 * retries itself, so they become warn; INFO and below become debug.
 */
export function kafkaJsLogCreator(logger: KafkaEventLogLogger): logCreator {
  const debug = logger.debug ?? noop;
  return () => ({ namespace, level, label, log }) => {
    const { message, ...extra } = log;
    if (EXPECTED.some((re) => re.test(String(message)) || re.test(String(extra.error ?? '')))) return;
    const fields = { kafkajs: namespace, kafkajsLevel: label, ...extra };
    const msg = `KafkaJS: ${String(message)}`;
    if (level === logLevel.ERROR || level === logLevel.WARN) logger.warn(msg, fields);
    else debug(msg, fields);
  };
}
