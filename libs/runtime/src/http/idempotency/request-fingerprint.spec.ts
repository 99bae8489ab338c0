import { canonicalJson, requestFingerprint } from './request-fingerprint';

describe('canonicalJson', () => {
  it('given objects with keys in any order and any spacing, then one text, keys sorted, at every depth', () => {
    const a = JSON.parse('{"b":2,"a":{"y":[1,{"q":true,"p":null}],"x":"s"}}');
    const b = JSON.parse('{ "a": { "x": "s", "y": [ 1.0, { "p": null, "q": true } ] }, "b": 2 }');
    expect(canonicalJson(a)).toBe('{"a":{"x":"s","y":[1,{"p":null,"q":true}]},"b":2}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
  });

  it('given arrays in another order, then different texts (order is meaning in an array)', () => {
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
  });

  it('given values JSON cannot tell apart from their text, then strings stay strings and numbers numbers', () => {
    expect(canonicalJson({ a: '1' })).not.toBe(canonicalJson({ a: 1 }));
    expect(canonicalJson({ a: 'x"y\\z\u2028' })).toBe(JSON.stringify({ a: 'x"y\\z\u2028' }));
    expect(canonicalJson([])).toBe('[]');
    expect(canonicalJson({})).toBe('{}');
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson(1e21)).toBe('1e+21');
  });

  it('given a __proto__ key as JSON.parse makes it (an own property), then it is written like any key', () => {
    expect(canonicalJson(JSON.parse('{"__proto__":{"x":1},"a":2}'))).toBe('{"__proto__":{"x":1},"a":2}');
  });

  it('given a body nested 100 000 deep, then no stack overflow', () => {
    const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000));
    expect(canonicalJson(deep)).toHaveLength(200_000);
  });
});

describe('requestFingerprint', () => {
  it('given the same parsed body on one route, then the same fingerprint; another body or route, then another', () => {
    const fp = requestFingerprint('POST /v3/profiles', JSON.parse('{"attributes":{"email":"a@b.co","n":1}}'));
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(requestFingerprint('POST /v3/profiles', JSON.parse('{"attributes":{"n":1,"email":"a@b.co"}}'))).toBe(fp);
    expect(requestFingerprint('POST /v3/profiles', JSON.parse('{"attributes":{"n":2,"email":"a@b.co"}}'))).not.toBe(fp);
    expect(requestFingerprint('POST /v3/events', JSON.parse('{"attributes":{"n":1,"email":"a@b.co"}}'))).not.toBe(fp);
  });
});
