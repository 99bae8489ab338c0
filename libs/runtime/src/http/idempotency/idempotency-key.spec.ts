import { parseIdempotencyKey } from './idempotency-key';

describe('parseIdempotencyKey', () => {
  it.each([
    ['8e03978e-40d5-43e8-bc93-6894a57f9324', '8e03978e-40d5-43e8-bc93-6894a57f9324'],
    ['"8e03978e-40d5-43e8-bc93-6894a57f9324"', '8e03978e-40d5-43e8-bc93-6894a57f9324'],
    ['"a \\"quoted\\" key"', 'a "quoted" key'],
    ['k', 'k'],
    ['x'.repeat(255), 'x'.repeat(255)],
    ['order 42 / retry ~!@#$%^&*()', 'order 42 / retry ~!@#$%^&*()'],
  ])('given %j, then the key is %j', (header, key) => {
    expect(parseIdempotencyKey(header)).toBe(key);
  });

  it.each([['', 'empty'], ['""', 'empty in quotes'], ['x'.repeat(256), '256 characters'], ['café', 'not ASCII'], ['a\tb', 'a control character'], ['a\u0000b', 'NUL']])(
    'given %j (%s), then it is refused',
    (header) => {
      expect(parseIdempotencyKey(header)).toBeUndefined();
    },
  );

  it('given the header twice (an array), then it is refused', () => {
    expect(parseIdempotencyKey(['a', 'b'])).toBeUndefined();
  });
});
