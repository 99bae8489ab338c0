import fc from 'fast-check';
import { nanpFastPath, normalisePhone, parsePhone } from './phone-number';

// The NANP fast path must answer exactly what libphonenumber answers for every text it takes.
const REGIONS = ['US', 'CA', 'GB', 'JP'];
const pad = (n: number, width: number) => String(n).padStart(width, '0');
const sep = fc.constantFrom('', ' ', '-', '.');

describe('given a NANP number of the fast shapes', () => {
  it('when written +1 with any area code 200–999 and any separators, then it equals libphonenumber in every region', () => {
    for (let area = 200; area <= 999; area++) {
      for (const [ex, line, s1, s2, s3, paren] of [
        [0, 0, '', '', '', false],
        [area % 1000, (area * 7919) % 10000, ' ', '-', '-', true],
        [(area * 31) % 1000, (area * 13) % 10000, '-', '.', ' ', false],
        [199, 9999, '.', ' ', '', true],
      ] as const) {
        const text = `+1${s1}${paren ? `(${area})` : area}${s2}${pad(ex, 3)}${s3}${pad(line, 4)}`;
        for (const region of REGIONS) {
          expect({ text, region, fast: nanpFastPath(text, region) }).toEqual({ text, region, fast: `+1${area}${pad(ex, 3)}${pad(line, 4)}` });
          expect({ text, region, answer: normalisePhone(text, region) }).toEqual({ text, region, answer: parsePhone(text, region) });
        }
      }
    }
  });

  it('when written as ten national digits under the region US, then it equals libphonenumber', () => {
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 999 }), fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 9999 }), sep, sep, fc.boolean(), (area, ex, line, s2, s3, paren) => {
        const text = `${paren ? `(${area})` : area}${s2}${pad(ex, 3)}${s3}${pad(line, 4)}`;
        expect(nanpFastPath(text, 'US')).toBe(`+1${area}${pad(ex, 3)}${pad(line, 4)}`);
        expect(normalisePhone(text, 'US')).toEqual(parsePhone(text, 'US'));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('given texts near the fast shapes', () => {
  it('when an area code starts with 0 or 1, a group is short or long, or a national number is read outside the US, then libphonenumber decides', () => {
    for (const [text, region] of [
      ['+1 (155) 123-4567', 'US'],
      ['+1 055 123 4567', 'US'],
      ['+1 555 123 456', 'US'],
      ['+1 555 123 45678', 'US'],
      ['+1 555 123 4567 ext. 12', 'US'],
      ['+1--555-123-4567', 'US'],
      ['(555) 123-4567', 'CA'],
      ['555 123 4567', 'GB'],
      ['1 555 123 4567', 'US'],
      ['+44 20 7946 0958', 'US'],
    ] as const) {
      expect({ text, fast: nanpFastPath(text, region) }).toEqual({ text, fast: undefined });
      expect(normalisePhone(text, region)).toEqual(parsePhone(text, region));
    }
  });

  it('when a text is built from digits, separators and +1 at random, then the answer equals libphonenumber', () => {
    const piece = fc.constantFrom('+1', '+', '1', '(', ')', ' ', '-', '.', '2', '5', '0', '9', '555', '867', '5309', '(555)', 'x');
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 12 }), fc.constantFrom(...REGIONS), (pieces, region) => {
        const text = pieces.join('').trim();
        if (text === '') return;
        expect(normalisePhone(text, region)).toEqual(parsePhone(text, region));
      }),
      { numRuns: 5000 },
    );
  });
});
