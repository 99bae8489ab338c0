import { ConfigurationError, loadEnv } from './env.validation';
import { SingleNodeEnv, WorkerEnv } from './tessera.env';

describe('loadEnv', () => {
  it('given an empty environment, then the documented defaults apply', () => {
    const env = loadEnv(SingleNodeEnv, {});
    expect(env).toMatchObject({ PORT: 8080, TESSERA_DATA_DIR: './.tessera', LOG_LEVEL: 'info', TESSERA_BODY_LIMIT: 4 * 1024 * 1024 });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.KAFKA_BROKERS).toBeUndefined();
    // Kafka topics: defaults for a 3-broker cluster.
    expect(env).toMatchObject({ TESSERA_KAFKA_REPLICATION_FACTOR: 3, TESSERA_KAFKA_MIN_INSYNC_REPLICAS: 2, TESSERA_KAFKA_SESSION_TIMEOUT_MS: 30_000 });
  });

  it('given a single broker set explicitly, then replication factor and min.insync.replicas are 1', () => {
    const env = loadEnv(WorkerEnv, { TESSERA_KAFKA_REPLICATION_FACTOR: '1', TESSERA_KAFKA_MIN_INSYNC_REPLICAS: '1' });
    expect(env).toMatchObject({ TESSERA_KAFKA_REPLICATION_FACTOR: 1, TESSERA_KAFKA_MIN_INSYNC_REPLICAS: 1 });
  });

  it('given min.insync.replicas above the replication factor, then start-up fails naming both', () => {
    const load = () => loadEnv(WorkerEnv, { TESSERA_KAFKA_REPLICATION_FACTOR: '1' });
    expect(load).toThrow(ConfigurationError);
    expect(load).toThrow(/TESSERA_KAFKA_MIN_INSYNC_REPLICAS must not exceed TESSERA_KAFKA_REPLICATION_FACTOR \(1\)/);
  });

  it('given numbers as strings, then they are converted', () => {
    expect(loadEnv(WorkerEnv, { PORT: '9000', TESSERA_WORKER_BATCH_SIZE: '500' })).toMatchObject({ PORT: 9000, TESSERA_WORKER_BATCH_SIZE: 500 });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['LOG_LEVEL', 'loud'],
    ['DATABASE_URL', 'mysql://x'],
    ['KAFKA_BROKERS', 'localhost'],
    ['TESSERA_PUBLIC_KEY', 'short'],
    ['TESSERA_KAFKA_REPLICATION_FACTOR', '0'],
    ['TESSERA_KAFKA_REPLICATION_FACTOR', 'three'],
    ['TESSERA_KAFKA_MIN_INSYNC_REPLICAS', '0'],
    ['TESSERA_KAFKA_MIN_INSYNC_REPLICAS', '1.5'],
    ['TESSERA_KAFKA_SESSION_TIMEOUT_MS', '500'],
    ['TESSERA_IDEMPOTENCY_WINDOW', '0'],
    ['TESSERA_IDEMPOTENCY_WINDOW', '0s'],
    ['TESSERA_IDEMPOTENCY_WINDOW', '-1h'],
    ['TESSERA_IDEMPOTENCY_WINDOW', 'a day'],
    ['TESSERA_IDEMPOTENCY_WINDOW', '400d'],
    ['TESSERA_KAFKA_MAX_COMPACTION_LAG', '500ms'],
    ['TESSERA_KAFKA_MAX_COMPACTION_LAG', 'soon'],
    ['TESSERA_CORS_ORIGINS', 'shop.example'],
    ['TESSERA_CORS_ORIGINS', 'https://shop.example/'],
    ['TESSERA_INGEST_WORKERS', 'two'],
    ['TESSERA_INGEST_WORKERS', '-1'],
    ['TESSERA_INGEST_WORKERS', '65'],
    ['TESSERA_SEARCH_ATTRIBUTES', 'City'],
    ['TESSERA_SEARCH_ATTRIBUTES', 'city,'],
    ['TESSERA_SEARCH_ATTRIBUTES', "city');drop"],
    ['TESSERA_SEARCH_ATTRIBUTES', 'a'.repeat(41)],
  ])('given %s=%s, then start-up fails naming the variable', (name, value) => {
    expect(() => loadEnv(SingleNodeEnv, { [name]: value })).toThrow(ConfigurationError);
    expect(() => loadEnv(SingleNodeEnv, { [name]: value })).toThrow(new RegExp(name));
  });

  it('given PORT=abc, then one line names the variable and the value given (not null, not three times)', () => {
    let message = '';
    try {
      loadEnv(SingleNodeEnv, { PORT: 'abc' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('Invalid configuration:\n  PORT: PORT must be an integer number (got "abc")');
  });

  it('given a number out of range, then the value given is shown once', () => {
    expect(() => loadEnv(SingleNodeEnv, { PORT: '70000' })).toThrow(/^Invalid configuration:\n {2}PORT: PORT must not be greater than 65535 \(got "70000"\)$/);
  });

  it('given no idempotency window or CORS origins, then 24 hours and any origin', () => {
    const env = loadEnv(SingleNodeEnv, {});
    expect(env.idempotencyWindowMs).toBe(86_400_000);
    expect(env.corsOrigins).toBe('*');
    expect(loadEnv(WorkerEnv, {}).idempotencyWindowMs).toBe(86_400_000); // the projector reads it too
  });

  it.each([
    ['24h', 86_400_000],
    ['90m', 5_400_000],
    ['3600s', 3_600_000],
    ['500ms', 500],
    ['60000', 60_000],
  ])('given TESSERA_IDEMPOTENCY_WINDOW=%s, then idempotencyWindowMs is %i', (value, ms) => {
    expect(loadEnv(SingleNodeEnv, { TESSERA_IDEMPOTENCY_WINDOW: value }).idempotencyWindowMs).toBe(ms);
  });

  it('given a bad TESSERA_IDEMPOTENCY_WINDOW, then one line names the variable, the accepted forms and the value given', () => {
    expect(() => loadEnv(SingleNodeEnv, { TESSERA_IDEMPOTENCY_WINDOW: '1 day' })).toThrow(
      /^Invalid configuration:\n {2}TESSERA_IDEMPOTENCY_WINDOW: TESSERA_IDEMPOTENCY_WINDOW must be a duration .*24h, 90m, 3600s, 500ms.* \(got "1 day"\)$/,
    );
  });

  it.each([
    [undefined, undefined],
    ['', undefined],
    ['none', []],
    ['city', ['city']],
    ['city,plan,city', ['city', 'plan']],
  ])('given TESSERA_SEARCH_ATTRIBUTES=%p, then searchAttributes is %p (undefined: leave the declared set as it is)', (value, expected) => {
    expect(loadEnv(SingleNodeEnv, value === undefined ? {} : { TESSERA_SEARCH_ATTRIBUTES: value }).searchAttributes).toEqual(expected);
  });

  it('given TESSERA_KAFKA_MAX_COMPACTION_LAG, then kafkaMaxCompactionLagMs is it in ms (default 24 h)', () => {
    expect(loadEnv(SingleNodeEnv, {}).kafkaMaxCompactionLagMs).toBe(86_400_000);
    expect(loadEnv(SingleNodeEnv, { TESSERA_KAFKA_MAX_COMPACTION_LAG: '1h' }).kafkaMaxCompactionLagMs).toBe(3_600_000);
  });

  it('given TESSERA_CORS_ORIGINS as a list, then corsOrigins holds those origins', () => {
    expect(loadEnv(SingleNodeEnv, { TESSERA_CORS_ORIGINS: 'https://shop.example,http://localhost:3000' }).corsOrigins).toEqual(['https://shop.example', 'http://localhost:3000']);
  });

  it('given an empty string, then the default applies (unset)', () => {
    expect(loadEnv(SingleNodeEnv, { PORT: '' }).PORT).toBe(8080);
  });
});
