import fc from 'fast-check';
import { packedVersionsJson, packVersions, unpackVersions } from './profile-graph.repository';

describe('attribute versions storage', () => {
  it('given versions, when packed and unpacked, then they come back unchanged', () => {
    fc.assert(
      fc.property(
        // Any attribute name the graph keeps (it ignores __proto__, constructor and prototype as reserved).
        fc.dictionary(
          fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/), fc.string({ unit: 'grapheme' })).filter((name) => !['__proto__', 'constructor', 'prototype'].includes(name)),
          fc.tuple(fc.integer({ min: 0, max: 2 ** 45 }), fc.uuid()),
        ),
        (versions) => {
          const plain = Object.fromEntries(Object.entries(versions)) as Record<string, [number, string]>;
          expect(unpackVersions(packVersions(plain))).toEqual(plain);
        },
      ),
    );
  });

  it('given attributes written by one record, when packed, then the record is stored once', () => {
    expect(packVersions({ a: [5, 'r1'], b: [5, 'r1'], c: [7, 'r2'] })).toEqual({ '5 r1': ['a', 'b'], '7 r2': ['c'] });
  });

  it('given equal versions, shared or not, when packed as JSON, then the text is the same: attributes sorted under one key', () => {
    const shared: [number, string] = [5, 'r1'];
    const text = packedVersionsJson({ d: shared, a: [5, 'r1'], c: [7, 'r2'], b: shared });
    expect(text).toBe('{"5 r1":["a","b","d"],"7 r2":["c"]}');
    expect(packedVersionsJson({ a: shared, b: shared, c: [7, 'r2'], d: [5, 'r1'] })).toBe(text);
    expect(packedVersionsJson({})).toBe('{}');
  });
});
