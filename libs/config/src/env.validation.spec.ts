import { ConfigurationError, loadEnv } from './env.validation';
import { SingleNodeEnv, WorkerEnv } from './tessera.env';

describe('loadEnv', () => {
  it('given an empty environment, then the documented defaults apply', () => {
    const env = loadEnv(SingleNodeEnv, {});
    expect(env).toMatchObject({ PORT: 8080, TESSERA_DATA_DIR: './.tessera', LOG_LEVEL: 'info', TESSERA_BODY_LIMIT: 4 * 1024 * 1024 });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.KAFKA_BROKERS).toBeUndefined();
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
  ])('given %s=%s, then start-up fails naming the variable', (name, value) => {
    expect(() => loadEnv(SingleNodeEnv, { [name]: value })).toThrow(ConfigurationError);
    expect(() => loadEnv(SingleNodeEnv, { [name]: value })).toThrow(new RegExp(name));
  });

  it('given an empty string, then the default applies (unset)', () => {
    expect(loadEnv(SingleNodeEnv, { PORT: '' }).PORT).toBe(8080);
  });
});
