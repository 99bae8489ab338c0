import { createUuidV7Generator, isUuidV7, uuidv7, uuidV7Timestamp, UUID_V7_PATTERN } from './uuid-v7';

describe('uuidv7', () => {
  it('given the shared generator, when an id is made, then it is a canonical lower-case UUID v7 carrying the current time', () => {
    // given
    const before = Date.now();
    // when
    const id = uuidv7();
    const after = Date.now();
    // then
    expect(id).toMatch(UUID_V7_PATTERN);
    expect(id[14]).toBe('7'); // version
    expect(['8', '9', 'a', 'b']).toContain(id[19]); // variant 0b10
    const ts = uuidV7Timestamp(id)!;
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(after);
  });

  it('given many ids made in a tight loop (many per millisecond), when sorted as strings, then the order is creation order and all are unique', () => {
    // given / when
    const ids = Array.from({ length: 50_000 }, () => uuidv7());
    // then
    for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1]).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('given a frozen clock, when ids are made in the same millisecond, then they still increase and keep that timestamp', () => {
    // given
    const next = createUuidV7Generator({ now: () => 1_700_000_000_000 });
    // when
    const ids = Array.from({ length: 1000 }, () => next());
    // then
    for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1]).toBe(true);
    expect(ids.every((id) => uuidV7Timestamp(id) === 1_700_000_000_000)).toBe(true);
    expect(ids[0].startsWith('018bcfe5-6800-7')).toBe(true);
  });

  it('given a clock that goes backwards, when ids are made, then they keep increasing (the last timestamp is kept)', () => {
    // given
    const times = [2_000_000, 1_000_000, 1_500_000, 2_000_001];
    let t = 0;
    const next = createUuidV7Generator({ now: () => times[t++] });
    // when
    const ids = times.map(() => next());
    // then
    for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1]).toBe(true);
    expect(ids.map((id) => uuidV7Timestamp(id))).toEqual([2_000_000, 2_000_000, 2_000_000, 2_000_001]);
  });

  it('given the random source, when ids are made, then the random bits come from it', () => {
    // given
    const next = createUuidV7Generator({ now: () => 0, randomFill: (b) => b.fill(0) });
    // when / then: counter seeded 0, then incremented (its lowest bit is bit 32 of rand_b); random tail all zero
    expect(next()).toBe('00000000-0000-7000-8000-000000000000');
    expect(next()).toBe('00000000-0000-7000-8000-000100000000');
  });

  it('given other strings, when checked, then only canonical lower-case v7 passes', () => {
    expect(isUuidV7('018bcfe5-6800-7abc-8def-0123456789ab')).toBe(true);
    expect(isUuidV7('018BCFE5-6800-7ABC-8DEF-0123456789AB')).toBe(false); // upper case
    expect(isUuidV7('9b2c7a4e-1f3d-4c2b-8a1e-0123456789ab')).toBe(false); // v4
    expect(isUuidV7('018bcfe5-6800-7abc-cdef-0123456789ab')).toBe(false); // variant
    expect(isUuidV7(42)).toBe(false);
    expect(uuidV7Timestamp('nope')).toBeUndefined();
  });
});
