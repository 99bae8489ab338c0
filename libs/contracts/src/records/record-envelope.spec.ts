import { isCanonicalIso } from './record-envelope';

describe('given the canonical ISO check of record times', () => {
  it('when a value was accepted just before, then it is accepted again and nothing else rides on that memory', () => {
    const valid = '2026-12-03T09:15:00.123Z';
    expect(isCanonicalIso(valid)).toBe(true);
    expect(isCanonicalIso(valid)).toBe(true);
    for (const invalid of ['', '2026-12-03T09:15:00.123', '2026-02-30T09:15:00.123Z', '2026-12-03T09:15:00Z', ' 2026-12-03T09:15:00.123Z', undefined, 5]) {
      expect(isCanonicalIso(invalid)).toBe(false);
    }
  });

  it('when many distinct valid times pass, then each is still checked (round trip through Date)', () => {
    const start = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 50; i++) {
      const value = new Date(start + i * 86_400_123).toISOString();
      expect(isCanonicalIso(value)).toBe(true);
      expect(isCanonicalIso(value.replace(/T\d\d/, 'T24'))).toBe(false);
    }
  });
});
