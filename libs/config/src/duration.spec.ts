import { parseCorsOrigins, parseDuration } from './duration';

describe('parseDuration', () => {
  it.each([
    ['24h', 86_400_000],
    ['90m', 5_400_000],
    ['3600s', 3_600_000],
    ['500ms', 500],
    ['7d', 604_800_000],
    ['1.5h', 5_400_000],
    ['86400000', 86_400_000],
    [' 2h ', 7_200_000],
    ['0', 0],
  ])('given %j, then it is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'abc', '-5m', '1h30m', '24 hours', 'h', '1e3', '0x10', '24H', '9'.repeat(30)])('given %j, then it is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('parseCorsOrigins', () => {
  it('given *, then any origin', () => {
    expect(parseCorsOrigins('*')).toBe('*');
  });

  it('given a list, then the origins in lower case, trimmed, without repeats', () => {
    expect(parseCorsOrigins('https://Shop.Example, http://localhost:3000,https://shop.example,http://[::1]:8080')).toEqual([
      'https://shop.example',
      'http://localhost:3000',
      'http://[::1]:8080',
    ]);
  });

  it.each(['', 'shop.example', 'https://shop.example/', 'https://shop.example/path', 'https://shop.example:99999', 'https://a.example,*', 'https://a.example,,https://b.example', 'https://user@shop.example'])(
    'given %j, then it is refused',
    (text) => {
      expect(parseCorsOrigins(text)).toBeUndefined();
    },
  );
});
