import { restrictionAllows } from './restriction-scope';

describe('restrictionAllows (seed 004)', () => {
  it('given an unrestricted key, when any profile is read, then it is allowed', () => {
    expect(restrictionAllows(null, {})).toBe(true);
    expect(restrictionAllows(null, { restriction: 'DE' })).toBe(true);
  });

  it('given a key restricted to DE and FR, when profiles are read, then only those whose restriction is one of them', () => {
    expect(restrictionAllows(['DE', 'FR'], { restriction: 'DE' })).toBe(true);
    expect(restrictionAllows(['DE', 'FR'], { restriction: 'FR' })).toBe(true);
    expect(restrictionAllows(['DE', 'FR'], { restriction: 'US' })).toBe(false);
  });

  it('given a restricted key, when the profile has no restriction or a non-string one, then it is outside (exact match only)', () => {
    expect(restrictionAllows(['DE'], {})).toBe(false);
    expect(restrictionAllows(['DE'], { restriction: null })).toBe(false);
    expect(restrictionAllows(['DE'], { restriction: ['DE'] })).toBe(false);
    expect(restrictionAllows(['DE'], { restriction: 'de' })).toBe(false);
  });
});
