import { parseEventTime, parseIso8601 } from './event-time';

const iso = (value: unknown): string | undefined => {
  const r = parseEventTime(value);
  return r.ok ? new Date(r.ms).toISOString() : undefined;
};

describe('parseEventTime (ts)', () => {
  it.each<[unknown, string]>([
    [1_700_000_000, '2023-11-14T22:13:20.000Z'], // epoch seconds
    [1_700_000_000.5, '2023-11-14T22:13:20.500Z'], // fractional seconds
    [0, '1970-01-01T00:00:00.000Z'],
    [99_999_999_999, '5138-11-16T09:46:39.000Z'], // largest seconds
    [100_000_000_000, '1973-03-03T09:46:40.000Z'], // smallest milliseconds
    [1_700_000_000_123, '2023-11-14T22:13:20.123Z'], // epoch milliseconds
    ['2024-05-01T12:00:00Z', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01T12:00Z', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01T12:00:00.1Z', '2024-05-01T12:00:00.100Z'],
    ['2024-05-01T12:00:00.123456789Z', '2024-05-01T12:00:00.123Z'],
    ['2024-05-01T12:00:00+02:00', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01T12:00:00.5-05:30', '2024-05-01T17:30:00.500Z'],
    ['2024-05-01', '2024-05-01T00:00:00.000Z'], // plain date: midnight UTC
    ['2024-02-29', '2024-02-29T00:00:00.000Z'], // leap day
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
  ])('given ts %p, when parsed, then it is %s', (value, expected) => {
    expect(iso(value)).toBe(expected);
  });

  it.each<[string, unknown]>([
    ['negative seconds', -1],
    ['a tiny negative', -0.0001],
    ['NaN', NaN],
    ['Infinity (JSON 1e400)', JSON.parse('1e400')],
    ['microseconds (beyond 9999)', 1_700_000_000_000_000],
    ['a boolean', true],
    ['null', null],
    ['an array', [1_700_000_000]],
    ['an object', { seconds: 1 }],
    ['a numeric string', '1700000000'],
    ['free text', 'yesterday'],
    ['an empty string', ''],
    ['a date-time without offset', '2024-05-01T12:00:00'],
    ['a space instead of T', '2024-05-01 12:00:00Z'],
    ['lower-case t/z', '2024-05-01t12:00:00z'],
    ['an impossible day', '2023-02-29'],
    ['month 13', '2024-13-01'],
    ['hour 24', '2024-05-01T24:00:00Z'],
    ['second 60', '2024-05-01T23:59:60Z'],
    ['offset hours 24', '2024-05-01T12:00:00+24:00'],
    ['basic-format offset', '2024-05-01T12:00:00+0200'],
    ['before 1970 after the offset', '1970-01-01T00:30:00+01:00'],
    ['year 0075 (not 1975)', '0075-01-01'],
    ['RFC 2822', 'Wed, 01 May 2024 12:00:00 GMT'],
    ['a trailing newline', '2024-05-01T12:00:00Z\n'],
  ])('given ts as %s, when parsed, then it is refused with the ts rule', (_label, value) => {
    const r = parseEventTime(value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/^`ts` must be/);
  });

  it('given a non-ISO string, when parsed as ISO, then NaN', () => {
    expect(parseIso8601('2024-05-01T12:00:00')).toBeNaN();
  });
});
