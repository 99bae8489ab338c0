import { restoreUnencodedPlus } from './unencoded-plus';

describe('restoreUnencodedPlus', () => {
  it('when the raw query has a literal + that the parser decoded as a space, then the + is restored', () => {
    expect(restoreUnencodedPlus('/v3/profiles?phone=+447911123456', 'phone', ' 447911123456')).toBe('+447911123456');
    expect(restoreUnencodedPlus('/v3/profiles?x=1&phone=+1+555+867+5309', 'phone', ' 1 555 867 5309')).toBe('+1 555 867 5309');
  });
  it('when the + was encoded as %2B, then the value is used as decoded', () => {
    expect(restoreUnencodedPlus('/v3/profiles?phone=%2B447911123456', 'phone', '+447911123456')).toBe('+447911123456');
  });
  it('when the client really sent an encoded space, then it is left alone', () => {
    expect(restoreUnencodedPlus('/v3/profiles?phone=%20447911123456', 'phone', ' 447911123456')).toBe(' 447911123456');
  });
  it('when another parameter starts with the name, then it is not mistaken for it', () => {
    expect(restoreUnencodedPlus('/v3/profiles?phones=+1', 'phone', ' 1')).toBe(' 1');
  });
});
