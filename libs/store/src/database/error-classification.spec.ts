import { classifyError, isConnectionError, isPassingDatabaseError, PoisonRecordError } from './error-classification';

const pg = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });
const typeorm = (code: string) => Object.assign(new Error('query failed'), { driverError: { code } });

describe('classifyError', () => {
  it.each([
    ['22P02', 'data'], // invalid text representation
    ['22021', 'data'], // NUL in text
    ['23505', 'data'], // unique violation
    ['23502', 'data'], // not null violation
    ['08006', 'connection'], // connection failure
    ['57P01', 'connection'], // admin shutdown
    ['57P03', 'connection'], // cannot connect now
    ['53300', 'connection'], // too many connections: no session to be had
    ['ECONNREFUSED', 'connection'],
    ['57014', 'transient'], // statement timeout
    ['55P03', 'transient'], // lock timeout
    ['25006', 'transient'], // read-only transaction (failover)
    ['53200', 'transient'], // out of shared memory (lock table): not "database down"
    ['53100', 'transient'], // disk full
    ['40001', 'transient'],
    ['40P01', 'transient'],
    ['XX000', 'transient'],
  ])('SQLSTATE %s is %s, raw or wrapped by TypeORM', (code, expected) => {
    expect(classifyError(pg(code))).toBe(expected);
    expect(classifyError(typeorm(code))).toBe(expected);
  });

  it('a PoisonRecordError is data, an unknown error transient, a dropped connection connection', () => {
    expect(classifyError(new PoisonRecordError('bad'))).toBe('data');
    expect(classifyError(new TypeError('x is not iterable'))).toBe('transient');
    expect(classifyError('a string')).toBe('transient');
    expect(classifyError(undefined)).toBe('transient');
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
  });
});

describe('isPassingDatabaseError (HTTP answers 503, not 500)', () => {
  const pg = (code: string) => Object.assign(new Error(`pg ${code}`), { code });
  it.each(['57014', '55P03', '25006', '53200', '53300', '40001', '08006'])('SQLSTATE %s passes', (code) => {
    expect(isPassingDatabaseError(pg(code))).toBe(true);
  });
  it.each(['42P01', '42601', '22021', '23505', 'XX000'])('SQLSTATE %s is not a passing condition', (code) => {
    expect(isPassingDatabaseError(pg(code))).toBe(false);
  });
  it('a plain bug is not a passing condition', () => {
    expect(isPassingDatabaseError(new TypeError('x is not a function'))).toBe(false);
  });
});
