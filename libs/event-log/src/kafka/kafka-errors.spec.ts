import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe as describeError, isLeadershipMovingError, isRebalancingError, isTransientKafkaError, rebalancingCause } from './kafka-errors';

// KafkaJS's own table of broker error codes (untyped module): the errors a real broker's answers become.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode(code: number): Error };
const fromBroker = (code: number) => new KafkaJSProtocolError(createErrorFromCode(code));

describe('Kafka error classification', () => {
  it.each([
    [27, 'REBALANCE_IN_PROGRESS'],
    [22, 'ILLEGAL_GENERATION'],
    [25, 'UNKNOWN_MEMBER_ID'],
    [16, 'NOT_COORDINATOR_FOR_GROUP'],
  ])('given broker error %i (%s) from a heartbeat or commit, then it is a rebalance: the member rejoins', (code, type) => {
    const error = fromBroker(code);
    expect(error.type).toBe(type);
    expect(isRebalancingError(error)).toBe(true);
    expect(rebalancingCause(error)).toBe(error);
  });

  it('given a rebalance error wrapped by KafkaJS retries, then the bare protocol error is found (the runner rejoins only on that)', () => {
    const inner = fromBroker(27);
    expect(rebalancingCause(new KafkaJSNumberOfRetriesExceeded(inner, { retryCount: 3, retryTime: 100 }))).toBe(inner);
    expect(rebalancingCause(Object.assign(new KafkaJSNonRetriableError(inner), { cause: inner }))).toBe(inner);
  });

  it.each([
    [6, 'NOT_LEADER_FOR_PARTITION'],
    [23, 'INCONSISTENT_GROUP_PROTOCOL'],
    [1, 'OFFSET_OUT_OF_RANGE'],
  ])('given broker error %i (%s), then it is not a rebalance', (code) => {
    expect(isRebalancingError(fromBroker(code))).toBe(false);
  });

  it('given a connection error, then it is not a rebalance but the broker being away', () => {
    const refused = new KafkaJSConnectionError('connect ECONNREFUSED 127.0.0.1:9092');
    expect(isRebalancingError(refused)).toBe(false);
    expect(isTransientKafkaError(refused)).toBe(true);
  });

  it('given a rebalance answer, then it is not "Kafka unavailable" (ingest must not answer 503 for it)', () => {
    expect(isTransientKafkaError(fromBroker(27))).toBe(false);
    expect(isTransientKafkaError(fromBroker(22))).toBe(false);
  });

  it('names the Kafka error type and what a wrapper carries, for logs and the fatal message', () => {
    expect(describeError(fromBroker(23))).toMatch(/^KafkaJSProtocolError: .+ \[INCONSISTENT_GROUP_PROTOCOL\]$/);
    const wrapped = new KafkaJSNumberOfRetriesExceeded(fromBroker(15), { retryCount: 5, retryTime: 1000 });
    expect(describeError(wrapped)).toMatch(/KafkaJSNumberOfRetriesExceeded: .*COORDINATOR_NOT_AVAILABLE/);
    expect(describeError('plain')).toBe('plain');
  });

  it('given a leader moving (new topic, broker restart, election), then the admin call is asked again; other answers are not', () => {
    expect(isLeadershipMovingError(fromBroker(6))).toBe(true); // NOT_LEADER_FOR_PARTITION
    expect(isLeadershipMovingError(fromBroker(5))).toBe(true); // LEADER_NOT_AVAILABLE
    expect(isLeadershipMovingError(new KafkaJSNumberOfRetriesExceeded(fromBroker(6), { retryCount: 3, retryTime: 100 }))).toBe(true);
    expect(isLeadershipMovingError(fromBroker(3))).toBe(false); // UNKNOWN_TOPIC_OR_PARTITION: a missing topic fails at once
    expect(isLeadershipMovingError(fromBroker(27))).toBe(false);
    expect(isLeadershipMovingError(new KafkaJSConnectionError('connect ECONNREFUSED'))).toBe(false);
  });
});
