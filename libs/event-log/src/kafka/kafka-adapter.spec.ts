import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { mokapiAsyncApi } from '../../../../test/support/kafka/kafka-test-cluster';
import { fetchedOffset, toLogRecord } from './kafka-consumer';
import { KafkaUnavailableError, isTransientKafkaError, toLogError, withTimeout } from './kafka-errors';

describe('Kafka adapter pieces', () => {
  it('classifies broker-down errors, also when KafkaJS wraps them in retry errors', () => {
    const refused = new KafkaJSConnectionError('connect ECONNREFUSED 127.0.0.1:9092');
    expect(isTransientKafkaError(refused)).toBe(true);
    // KafkaJS's retrier wraps the last error as the cause.
    expect(isTransientKafkaError(Object.assign(new KafkaJSNonRetriableError(refused), { cause: refused }))).toBe(true);
    expect(isTransientKafkaError(new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 1000 }))).toBe(true);
    const tooLarge = { message: 'too large', type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false };
    expect(isTransientKafkaError(new KafkaJSProtocolError(tooLarge as unknown as Error))).toBe(false);
    const notLeader = { message: 'not leader', type: 'NOT_LEADER_FOR_PARTITION', code: 6, retriable: true };
    expect(isTransientKafkaError(new KafkaJSProtocolError(notLeader as unknown as Error))).toBe(true);
    expect(isTransientKafkaError(new Error('x'))).toBe(false);
    expect(toLogError(refused, 'produce')).toBeInstanceOf(KafkaUnavailableError);
    const other = new RangeError('bad partition');
    expect(toLogError(other, 'produce')).toBe(other);
  });

  it('bounds a promise that never settles', async () => {
    const never = new Promise<never>(() => undefined);
    await expect(withTimeout(never, 20, () => new KafkaUnavailableError('late'))).rejects.toThrow('late');
    await expect(withTimeout(Promise.resolve(7), 1_000, () => new Error('late'))).resolves.toBe(7);
  });

  it('turns KafkaJS messages into port records (numeric offsets, string headers, ISO time)', () => {
    const record = toLogRecord('t', 2, {
      key: Buffer.from('tenant:a@b.c'),
      value: Buffer.from('{"x":1}'),
      timestamp: '1700000000123',
      attributes: 0,
      offset: '41',
      headers: { 'content-type': Buffer.from('application/json'), schema: 'profile-upsert.v1', dup: [Buffer.from('a'), Buffer.from('b')] },
    });
    expect(record).toEqual({
      topic: 't',
      partition: 2,
      offset: 41,
      key: 'tenant:a@b.c',
      value: Buffer.from('{"x":1}'),
      headers: { 'content-type': 'application/json', schema: 'profile-upsert.v1', dup: 'b' },
      timestamp: '2023-11-14T22:13:20.123Z',
    });
    const empty = toLogRecord('t', 0, { key: null, value: null, timestamp: '0', attributes: 0, offset: '0', size: 0 });
    expect(empty.key).toBeNull();
    expect(empty.value).toEqual(Buffer.alloc(0));
    expect(empty.tombstone).toBe(true); // a null value: erasure's tombstone
    expect(record.tombstone).toBeUndefined();
    expect(Number.isNaN(Date.parse(empty.timestamp))).toBe(false);
  });

  it('reads the fetch offset of a KafkaJS batch (readFrom), never above the first record', () => {
    expect(fetchedOffset({ fetchedOffset: '7' }, 9)).toBe(7);
    expect(fetchedOffset({ fetchedOffset: '12' }, 9)).toBe(9);
    expect(fetchedOffset({}, 9)).toBe(9);
    expect(fetchedOffset({ fetchedOffset: 'x' }, 9)).toBe(9);
  });

  it('declares every test topic with its partitions for mokapi, with no message schema to validate', () => {
    const doc = mokapiAsyncApi(19092, [{ name: 'a.b', partitions: 3 }, { name: 'c', partitions: 1 }]) as {
      servers: { broker: { host: string; protocol: string } };
      channels: Record<string, { address: string; bindings: { kafka: { partitions: number } }; messages?: unknown }>;
    };
    expect(doc.servers.broker).toMatchObject({ host: '127.0.0.1:19092', protocol: 'kafka' });
    expect(Object.values(doc.channels).map((c) => [c.address, c.bindings.kafka.partitions, c.messages])).toEqual([
      ['a.b', 3, undefined],
      ['c', 1, undefined],
    ]);
  });
});
