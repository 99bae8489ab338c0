/**
 * Error mapping for the Kafka adapter: callers (the ingest API) only need to know whether the log
 * could not take a batch *right now* (→ 503 + Retry-After) or refused it for good.
 */

/** The log is unreachable or did not answer in time; retrying the whole batch later is safe. */
export class KafkaUnavailableError extends Error {
  readonly code = 'EVENT_LOG_UNAVAILABLE';
  readonly retriable = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KafkaUnavailableError';
  }
}

interface KafkaJsLikeError {
  name?: string;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
  errors?: unknown[];
}

// KafkaJS names of errors that mean "no broker / no answer", whatever the retry wrapper says.
const TRANSIENT_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSStaleTopicMetadataAssignment',
]);

/** True when the error (or what it wraps) is a broker-down / timeout / leader-moving condition. */
export function isTransientKafkaError(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 5) return false;
  const e = error as KafkaJsLikeError;
  if (error instanceof KafkaUnavailableError) return true;
  if (e.name && TRANSIENT_NAMES.has(e.name)) return true;
  // KafkaJSNumberOfRetriesExceeded / KafkaJSNonRetriableError wrap the last real error in `cause`.
  if (e.cause && isTransientKafkaError(e.cause, depth + 1)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isTransientKafkaError(x, depth + 1))) return true;
  // Retriable protocol errors: NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE, NOT_ENOUGH_REPLICAS, ...
  return e.name === 'KafkaJSProtocolError' && e.retriable === true;
}

/** Wraps transient errors into KafkaUnavailableError; other errors pass through unchanged. */
export function toLogError(error: unknown, what: string): Error {
  if (error instanceof KafkaUnavailableError) return error;
  if (isTransientKafkaError(error)) {
    return new KafkaUnavailableError(`${what}: Kafka unavailable (${describe(error)})`, { cause: error });
  }
  return error instanceof Error ? error : new Error(`${what}: ${String(error)}`);
}

/** `Name: message`, plus the Kafka error type (e.g. REBALANCE_IN_PROGRESS) and what it wraps, for logs. */
export function describe(error: unknown, depth = 0): string {
  if (!(error instanceof Error)) return String(error);
  const { type, cause } = error as KafkaJsLikeError;
  let text = `${error.name}: ${error.message}`;
  if (type && !text.includes(type)) text += ` [${type}]`;
  if (cause && cause !== error && depth < 3) {
    const inner = describe(cause, depth + 1);
    if (!text.includes(inner)) text += ` (cause: ${inner})`;
  }
  return text;
}

// Group-coordinator answers that mean "this member's generation is over; rejoin and carry on":
// KafkaJS's own isRebalancing set plus UNKNOWN_MEMBER_ID (the member was dropped: session expired).
const REBALANCE_TYPES = new Set(['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

/**
 * The error (itself, or what a KafkaJS retry wrapper carries as its cause) that says the group is
 * rebalancing, else undefined. Hand this one to KafkaJS: its runner rejoins on the bare protocol error.
 */
export function rebalancingCause(error: unknown, depth = 0): unknown {
  if (!error || typeof error !== 'object' || depth > 5) return undefined;
  const e = error as KafkaJsLikeError;
  if (e.type && REBALANCE_TYPES.has(e.type)) return error;
  return e.cause && e.cause !== error ? rebalancingCause(e.cause, depth + 1) : undefined;
}

/** Group-coordinator answers that mean "the group is being rebalanced; rejoin and carry on". */
export function isRebalancingError(error: unknown): boolean {
  return rebalancingCause(error) !== undefined;
}

const LEADERSHIP_MOVING = new Set(['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * The broker answered, but a partition's leadership is moving (a new topic, a broker restart, a
 * leader election): asking again in a moment, with fresh metadata, succeeds. KafkaJS's admin gives up
 * on these at once for ListOffsets.
 */
export function isLeadershipMovingError(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 5) return false;
  const e = error as KafkaJsLikeError;
  if (e.type && LEADERSHIP_MOVING.has(e.type)) return true;
  return !!e.cause && e.cause !== error && isLeadershipMovingError(e.cause, depth + 1);
}

/** Admin group APIs the server does not implement (the go-mokapi test server: DescribeGroups, member-less OffsetFetch). */
export function isUnsupportedGroupAdminError(error: unknown): boolean {
  const e = error as KafkaJsLikeError | undefined;
  if (!e) return false;
  if (e.name === 'KafkaJSServerDoesNotSupportApiKey' || e.name === 'KafkaJSNotImplemented') return true;
  return e.type === 'UNSUPPORTED_VERSION' || e.type === 'UNKNOWN_MEMBER_ID' || e.type === 'GROUP_ID_NOT_FOUND';
}

/** Rejects with `onTimeout()` after `ms` unless `work` settles first; the losing promise is silenced. */
export function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref?.();
  });
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
