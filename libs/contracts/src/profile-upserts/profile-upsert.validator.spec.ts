import fc from 'fast-check';
import { IdentifierRules, phoneReason } from '@tessera/identity';
import {
  IDENTIFIER_REQUIRED,
  MISSING_ATTRIBUTES,
  validateProfileUpsertBody,
  type ProfileUpsertValidation,
  type ValidatedProfileUpsert,
} from './profile-upsert.validator';
import { buildProfileUpsertRecords, parseProfileUpsertRecord } from './profile-upsert.record';
import { ZAIUS_EXAMPLE_BODY } from './zaius-example.fixture';

const rules = IdentifierRules.defaults();
const receivedAt = new Date('2024-06-01T10:00:00.000Z');
const validate = (body: unknown, opts: { maxItems?: number } = {}): ProfileUpsertValidation =>
  validateProfileUpsertBody(body, rules, { receivedAt, ...opts });
const ok = (attributes: Record<string, unknown>) => ({ attributes: { email: 'a@b.co', ...attributes } });

function itemsOf(r: ProfileUpsertValidation): ValidatedProfileUpsert[] {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r.items;
}
function invalidsOf(r: ProfileUpsertValidation): Array<{ event: number; message: string }> {
  if (r.ok || !('invalids' in r)) throw new Error(`expected invalids, got ${JSON.stringify(r)}`);
  return r.invalids;
}
function bodyErrorOf(r: ProfileUpsertValidation): string {
  if (r.ok || !('bodyError' in r)) throw new Error(`expected bodyError, got ${JSON.stringify(r)}`);
  return r.bodyError;
}
/** Item 0 valid, item 1 the bad one, item 2 valid: the invalid index must be 1. */
function onlyMessage(badItem: unknown): string {
  const invalids = invalidsOf(validate([ok({}), badItem, ok({})]));
  expect(invalids).toHaveLength(1);
  expect(invalids[0].event).toBe(1);
  return invalids[0].message;
}
const badAttribute = (attributes: Record<string, unknown>): string => onlyMessage(ok(attributes));

describe('validateProfileUpsertBody', () => {
  describe('given the Zaius documentation example payload', () => {
    it('when validated, then both items pass with their attributes, identifiers and the received time as ts', () => {
      // given
      const body = JSON.parse(ZAIUS_EXAMPLE_BODY);
      // when
      const items = itemsOf(validate(body));
      // then
      expect(items).toHaveLength(2);
      expect({ ...items[0].attributes }).toEqual(body[0].attributes);
      expect({ ...items[1].attributes }).toEqual(body[1].attributes);
      expect(items[0].identifiers).toEqual([
        { type: 'email', value: 'sample@test.com' },
        { type: 'phone', value: '+15558675309' },
      ]);
      expect(items[1].identifiers).toEqual([
        { type: 'email', value: 'example@notreal.com' },
        { type: 'phone', value: '+15555555555' },
      ]);
      expect(items.every((i) => i.ts.getTime() === receivedAt.getTime() && i.tsFromBody === false)).toBe(true);
    });
  });

  describe('given the body shape', () => {
    it('when it is one object, then it is item 0', () => {
      expect(itemsOf(validate(ok({ first_name: 'A' })))).toHaveLength(1);
      expect(invalidsOf(validate({ attributes: { first_name: 'A' } }))).toEqual([{ event: 0, message: IDENTIFIER_REQUIRED }]);
    });

    it.each([null, 'text', 42, true])('when it is %p, then the body is refused', (body) => {
      expect(bodyErrorOf(validate(body))).toMatch(/body must be an object or an array of 1 to 500 objects/);
    });

    it('when it is an empty array, then the body is refused naming the limits', () => {
      expect(bodyErrorOf(validate([]))).toMatch(/1 to 500 objects; the array is empty/);
    });

    it('when it has 500 items, then all pass; with 501, the body is refused naming the limit', () => {
      const items = Array.from({ length: 501 }, (_, i) => ({ attributes: { email: `u${i}@example.com` } }));
      expect(itemsOf(validate(items.slice(0, 500)))).toHaveLength(500);
      expect(bodyErrorOf(validate(items))).toMatch(/got 501 items \(limit 500\)/);
    });

    it('when maxItems is set, then it is the limit', () => {
      expect(bodyErrorOf(validate([ok({}), ok({}), ok({})], { maxItems: 2 }))).toMatch(/limit 2/);
    });

    it.each([null, 'x', 7, [], [ok({})]])('when an item is %p, then that item is invalid', (item) => {
      expect(onlyMessage(item)).toBe('item must be an object `{"attributes": {…}}`');
    });

    it('when an item has no attributes, then "Missing required field `attributes`" (as Zaius)', () => {
      expect(onlyMessage({})).toBe(MISSING_ATTRIBUTES);
      expect(onlyMessage({ attribute: { email: 'a@b.co' } })).toBe(
        'Missing required field `attributes`; unknown field `attribute` (an item has only `attributes`)',
      );
    });

    it('when an item has other top-level fields, then they are named', () => {
      expect(onlyMessage({ ...ok({}), identifiers: {}, type: 'customer' })).toBe(
        'unknown field `identifiers` (an item has only `attributes`); unknown field `type` (an item has only `attributes`)',
      );
    });

    it.each([null, [], 'email=a@b.co', 1])('when attributes is %p, then it must be an object', (attributes) => {
      expect(onlyMessage({ attributes })).toBe('`attributes` must be an object');
    });

    it('when several items are invalid, then every one is listed with its index', () => {
      // given
      const body = [ok({}), { attributes: {} }, ok({}), ok({ Bad: 1 }), 'x'];
      // when
      const invalids = invalidsOf(validate(body));
      // then
      expect(invalids.map((i) => i.event)).toEqual([1, 3, 4]);
    });
  });

  describe('given attribute names', () => {
    it.each(['First Name', 'Email', '1abc', '_a', 'a-b', 'a.b', 'é', 'a'.repeat(65)])(
      'when the name is %p, then it must match the pattern',
      (name) => {
        expect(badAttribute({ [name]: 'x' })).toBe(
          `attribute name \`${name}\` must match ^[a-z][a-z0-9_]{0,63}$`,
        );
      },
    );

    it('when the name is empty or has control characters, then it is refused and shown escaped', () => {
      expect(badAttribute({ '': 'x' })).toBe('attribute name `` must match ^[a-z][a-z0-9_]{0,63}$');
      expect(badAttribute({ 'a\nb': 'x' })).toBe('attribute name `a\\nb` must match ^[a-z][a-z0-9_]{0,63}$');
    });

    it('when the name is very long, then the message shows only its start', () => {
      const message = badAttribute({ ['X'.repeat(10_000)]: 'x' });
      expect(message.length).toBeLessThan(200);
      expect(message).toContain('…');
    });

    it('when the name has 64 characters, then it is fine', () => {
      expect(itemsOf(validate(ok({ ['a'.repeat(64)]: 'x' })))).toHaveLength(1);
    });

    it.each(['constructor', 'prototype'])('when the name is %p, then it is reserved and refused', (name) => {
      expect(badAttribute({ [name]: 'x' })).toBe(`attribute name \`${name}\` is reserved and refused`);
    });

    it('when JSON has a __proto__ attribute, then it is refused and nothing is polluted', () => {
      // given: JSON.parse makes an own property "__proto__"
      const body = JSON.parse('[{"attributes":{"email":"a@b.co"}},{"attributes":{"email":"c@d.co","__proto__":{"polluted":"yes"}}}]');
      // when
      const invalids = invalidsOf(validate(body));
      // then
      expect(invalids).toEqual([{ event: 1, message: 'attribute name `__proto__` is reserved and refused' }]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });

    it('when an item has a top-level __proto__, then it is an unknown field', () => {
      const body = JSON.parse('{"__proto__":{"attributes":{"email":"a@b.co"}},"attributes":{"email":"a@b.co"}}');
      expect(invalidsOf(validate(body))).toEqual([
        { event: 0, message: 'unknown field `__proto__` (an item has only `attributes`)' },
      ]);
    });

    it('when attributes are accepted, then the output is a null-prototype object holding only own data', () => {
      // given
      const body = JSON.parse('{"attributes":{"email":"a@b.co","tags":["x",1],"valueof":1,"tostring":"s"}}');
      // when
      const [item] = itemsOf(validate(body));
      // then
      expect(Object.getPrototypeOf(item.attributes)).toBeNull();
      expect(Object.keys(item.attributes)).toEqual(['email', 'tags', 'valueof', 'tostring']);
      expect(item.attributes.tags).not.toBe(body.attributes.tags); // a copy
      expect(JSON.stringify(item.attributes)).toBe('{"email":"a@b.co","tags":["x",1],"valueof":1,"tostring":"s"}');
    });
  });

  describe('given attribute values', () => {
    const rule =
      'must be a string of at most 8192 bytes, a finite number, a boolean, null or an array of at most 100 strings/numbers';

    it('when values are strings, finite numbers, booleans, null and arrays of strings/numbers, then they pass as given', () => {
      // given
      const attributes = {
        s: 'text', ctl: 'a\u0001b\n\t\u001f', n: -1.5, z: 0, big: 1.7976931348623157e308, b: false, nul: null,
        arr: ['a', 2, 3.5], empty: [], pair: '😀',
      };
      // when
      const [item] = itemsOf(validate(ok(attributes)));
      // then
      expect({ ...item.attributes }).toEqual({ email: 'a@b.co', ...attributes });
    });

    it('when a string has 8192 bytes, then it passes; 8193 bytes (counted in UTF-8), then it is refused', () => {
      expect(itemsOf(validate(ok({ s: 'a'.repeat(8192) })))).toHaveLength(1);
      expect(itemsOf(validate(ok({ s: '€'.repeat(2730) + 'aa' })))).toHaveLength(1); // 8192 bytes
      expect(itemsOf(validate(ok({ s: '😀'.repeat(2048) })))).toHaveLength(1); // 8192 bytes
      expect(badAttribute({ s: 'a'.repeat(8193) })).toBe(
        'attribute `s` must be a string of at most 8192 bytes (UTF-8; got 8193 bytes)',
      );
      expect(badAttribute({ s: '€'.repeat(2731) })).toBe(
        'attribute `s` must be a string of at most 8192 bytes (UTF-8; got 8193 bytes)',
      ); // only 2731 characters
      expect(badAttribute({ s: '😀'.repeat(2048) + 'a' })).toMatch(/got 8193 bytes/);
    });

    it('when a string has a lone surrogate, then it must be valid Unicode text', () => {
      const body = JSON.parse('{"attributes":{"email":"a@b.co","s":"ab\\ud800c"}}');
      expect(invalidsOf(validate(body))[0].message).toBe(
        'attribute `s` must be valid Unicode text (it contains a lone UTF-16 surrogate)',
      );
      expect(badAttribute({ s: '\udc00' })).toMatch(/valid Unicode text/);
      expect(badAttribute({ tags: ['ok', '\ud83d'] })).toBe(
        'attribute `tags` item 1 must be valid Unicode text (it contains a lone UTF-16 surrogate)',
      );
    });

    it('when a number is beyond ±Number.MAX_VALUE in JSON (parsed as Infinity), NaN or -Infinity, then it must be finite', () => {
      const body = JSON.parse('{"attributes":{"email":"a@b.co","n":1e400}}');
      expect(invalidsOf(validate(body))[0].message).toMatch(/^attribute `n` must be a finite number/);
      expect(badAttribute({ n: NaN })).toMatch(/^attribute `n` must be a finite number/);
      expect(badAttribute({ n: -Infinity })).toMatch(/^attribute `n` must be a finite number/);
    });

    it('when a value is a nested object, then it is refused naming the attribute', () => {
      expect(badAttribute({ address: { city: 'Boston' } })).toBe(`attribute \`address\` ${rule}; nested objects are not allowed`);
    });

    it('when a value is not a JSON value, then it is refused', () => {
      expect(badAttribute({ u: undefined })).toBe(`attribute \`u\` ${rule}`);
      expect(badAttribute({ d: new Date(0) })).toMatch(/nested objects/);
    });

    it('when an array has 100 items, then it passes; 101, then it is refused', () => {
      expect(itemsOf(validate(ok({ tags: Array.from({ length: 100 }, (_, i) => i) })))).toHaveLength(1);
      expect(badAttribute({ tags: Array.from({ length: 101 }, (_, i) => i) })).toBe(
        'attribute `tags` must be an array of at most 100 strings/numbers (got 101 items)',
      );
    });

    it.each<[unknown, string]>([
      [[true], 'item 0 must be a string or a finite number'],
      [['a', null], 'item 1 must be a string or a finite number'],
      [[{ a: 1 }], 'item 0 must be a string or a finite number'],
      [[['nested']], 'item 0 must be a string or a finite number'],
      [[1, NaN], 'item 1 must be a string or a finite number (NaN and Infinity are not allowed)'],
      [['x'.repeat(8193)], 'item 0 must be a string of at most 8192 bytes (UTF-8; got 8193 bytes)'],
    ])('when an array is %p, then the element is named', (value, problem) => {
      expect(badAttribute({ tags: value })).toBe(`attribute \`tags\` ${problem}`);
    });

    it('when an item has 256 attributes (plus ts), then it passes; 257, then it is refused', () => {
      const attrs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [i === 0 ? 'email' : `a${i}`, i === 0 ? 'a@b.co' : i]));
      expect(itemsOf(validate({ attributes: { ...attrs(256), ts: 1_700_000_000 } }))).toHaveLength(1);
      expect(onlyMessage({ attributes: attrs(257) })).toBe('`attributes` must hold at most 256 attributes (got 257)');
    });

    it('when an item has several problems, then they are joined with "; "', () => {
      expect(badAttribute({ Bad: 1, n: { x: 1 }, ts: 'soon' })).toBe(
        [
          'attribute name `Bad` must match ^[a-z][a-z0-9_]{0,63}$',
          `attribute \`n\` ${rule}; nested objects are not allowed`,
          '`ts` must be epoch seconds (a number below 10^11), epoch milliseconds (a number from 10^11) or an ISO 8601 date (YYYY-MM-DD) or date-time with an offset (e.g. 2024-05-01T12:00:00Z) (got "soon")',
        ].join('; '),
      );
    });

    it('when an item has very many problems, then the message is bounded', () => {
      const attributes = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`A${i}`, 1]));
      const message = badAttribute(attributes);
      expect(message).toMatch(/; … and 40 more$/);
    });
  });

  describe('given identifiers', () => {
    it.each<[Record<string, unknown>, string]>([
      [{ email: 'not-an-email' }, '`email` must look like an email address'],
      [{ email: 42 }, '`email` must be a string of 1-255 characters'],
      [{ email: ['a@b.co'] }, '`email` must be a string of 1-255 characters'],
      [{ email: `${'a'.repeat(250)}@b.com` }, '`email` must be a string of 1-255 characters'],
      [{ phone: '12-34' }, `\`phone\` ${phoneReason('US')}`],
      [{ phone: '555-1234' }, `\`phone\` ${phoneReason('US')}`],
      [{ customer_id: 4.5 }, '`customer_id` must be a string of 1-255 characters or an integer'],
      [{ vuid: true }, '`vuid` must be a string of 1-255 characters'],
    ])('when the item has %p, then it is invalid naming the identifier and the rule', (attributes, message) => {
      expect(onlyMessage({ attributes: { first_name: 'A', ...attributes } })).toBe(message);
    });

    it('when an identifier is invalid next to a valid one, then the item is still invalid', () => {
      expect(onlyMessage({ attributes: { email: 'a@b.co', phone: '1' } })).toBe(`\`phone\` ${phoneReason('US')}`);
    });

    it('when there is no identifier, then at least one is required', () => {
      expect(onlyMessage({ attributes: { first_name: 'A' } })).toBe(IDENTIFIER_REQUIRED);
      expect(onlyMessage({ attributes: {} })).toBe(IDENTIFIER_REQUIRED);
    });

    it.each(['guest', ' Anonymous ', '0', '-1', 'null', 'NaN', '', '[object Object]'])(
      'when the only identifier value is blocked (%p), then at least one identifier is required',
      (email) => {
        expect(onlyMessage({ attributes: { email, first_name: 'A' } })).toBe(IDENTIFIER_REQUIRED);
      },
    );

    it('when a blocked identifier sits next to a good one, then the blocked one is dropped but kept as raw attribute', () => {
      // given / when
      const [item] = itemsOf(validate({ attributes: { email: 'guest', customer_id: null, vuid: ' V-1 ' } }));
      // then
      expect(item.identifiers).toEqual([{ type: 'vuid', value: 'V-1' }]);
      expect({ ...item.attributes }).toEqual({ email: 'guest', customer_id: null, vuid: ' V-1 ' });
    });

    it('when identifiers are present, then they are normalised in priority order', () => {
      const [item] = itemsOf(
        validate({ attributes: { vuid: 'v1', phone: '+1 (555) 010-9999', email: ' A@B.Co ', customer_id: 42, zaius_id: ' 0190D5C4-7B1E-7000-8000-0000000000AA ' } }),
      );
      expect(item.identifiers).toEqual([
        { type: 'zaius_id', value: '0190d5c4-7b1e-7000-8000-0000000000aa' },
        { type: 'customer_id', value: '42' },
        { type: 'email', value: 'a@b.co' },
        { type: 'phone', value: '+15550109999' },
        { type: 'vuid', value: 'v1' },
      ]);
    });

    describe('given zaius_id (the id of an existing profile: a UUID, DESIGN §5)', () => {
      it.each<[unknown]>([['test'], ['ABC'], ['p-1'], ['0190d5c47b1e70008000000000000aa'], ['{0190d5c4-7b1e-7000-8000-0000000000aa}'], ['0190d5c4-7b1e-7000-8000-0000000000ag']])(
        'when zaius_id is %p, then the item is invalid: "`zaius_id` must be a UUID"',
        (zaius_id) => {
          expect(onlyMessage({ attributes: { email: 'a@b.co', zaius_id } })).toBe('`zaius_id` must be a UUID');
          expect(onlyMessage({ attributes: { zaius_id } })).toBe('`zaius_id` must be a UUID');
        },
      );

      it('when many items carry zaius_id "test", then every one of them is listed and nothing is accepted', () => {
        const body = ['ann', 'bob', 'cy'].map((name) => ({ attributes: { zaius_id: 'test', email: `${name}@b.co` } }));
        expect(invalidsOf(validate(body))).toEqual([0, 1, 2].map((event) => ({ event, message: '`zaius_id` must be a UUID' })));
      });

      it('when zaius_id is a UUID in any case and the only identifier, then the item is valid and it counts as its identifier', () => {
        const [item] = itemsOf(validate({ attributes: { zaius_id: '0190D5C4-7B1E-7000-8000-0000000000AA', plan: 'pro' } }));
        expect(item.identifiers).toEqual([{ type: 'zaius_id', value: '0190d5c4-7b1e-7000-8000-0000000000aa' }]);
        expect({ ...item.attributes }).toEqual({ zaius_id: '0190D5C4-7B1E-7000-8000-0000000000AA', plan: 'pro' });
      });

      it.each<[unknown, string]>([
        [42, '`zaius_id` must be a string of 1-255 characters'],
        [{ id: 'x' }, 'attribute `zaius_id` must be a string'],
      ])('when zaius_id is %p (not a string), then the item is invalid naming the field', (zaius_id, message) => {
        expect(onlyMessage({ attributes: { email: 'a@b.co', zaius_id } })).toContain(message);
      });
    });

    it('when a tenant has a custom identifier type, then it counts as an identifier', () => {
      const custom = IdentifierRules.defaults().withCustomTypes([{ type: 'loyalty_no', confidence: 'high' }]);
      const r = validateProfileUpsertBody({ attributes: { loyalty_no: ' L-7 ' } }, custom, { receivedAt });
      expect(itemsOf(r)[0].identifiers).toEqual([{ type: 'loyalty_no', value: 'L-7' }]);
    });
  });

  describe('given ts', () => {
    it.each<[unknown, string]>([
      [1_700_000_000, '2023-11-14T22:13:20.000Z'],
      [1_700_000_000_123, '2023-11-14T22:13:20.123Z'],
      ['2024-05-01T12:00:00+02:00', '2024-05-01T10:00:00.000Z'],
      ['2024-05-01', '2024-05-01T00:00:00.000Z'],
    ])('when ts is %p, then the item ts is %s and ts is not an attribute', (ts, expected) => {
      const [item] = itemsOf(validate(ok({ ts })));
      expect(item.ts.toISOString()).toBe(expected);
      expect(item.tsFromBody).toBe(true);
      expect('ts' in item.attributes).toBe(false);
    });

    it.each([-1, true, null, 'yesterday', '2024-02-30', '2024-05-01T12:00:00', 1e16, [], {}])(
      'when ts is %p, then the item is invalid naming ts',
      (ts) => {
        expect(badAttribute({ ts })).toMatch(/^`ts` must be/);
      },
    );

    // receivedAt is 2024-06-01T10:00:00.000Z: up to 1 hour of clock skew is accepted (DESIGN §3).
    it.each<[unknown, string]>([
      ['2024-06-01T11:00:00Z', '2024-06-01T11:00:00.000Z'],
      [1_717_239_600, '2024-06-01T11:00:00.000Z'],
      [1_717_239_600_000, '2024-06-01T11:00:00.000Z'],
    ])('when ts is %p, exactly 1 hour after receipt, then it is accepted', (ts, expected) => {
      expect(itemsOf(validate(ok({ ts })))[0].ts.toISOString()).toBe(expected);
    });

    it.each<[unknown, string]>([
      ['2024-06-01T11:00:00.001Z', '2024-06-01T11:00:00.001Z'],
      [1_717_239_600_001, '2024-06-01T11:00:00.001Z'],
      [1_717_239_601, '2024-06-01T11:00:01.000Z'],
      ['2030-01-01T00:00:00Z', '2030-01-01T00:00:00.000Z'],
      ['9999-12-31', '9999-12-31T00:00:00.000Z'],
    ])('when ts is %p, more than 1 hour after receipt, then the item is invalid naming ts and both times', (ts, shown) => {
      expect(badAttribute({ ts })).toBe(
        `\`ts\` is more than 1 hour after the time the item was received (got ${shown}, received at 2024-06-01T10:00:00.000Z)`,
      );
    });

    it('when no receivedAt is given, then items without ts get the validation time', () => {
      const before = Date.now();
      const r = validateProfileUpsertBody(ok({}), rules);
      expect(itemsOf(r)[0].ts.getTime()).toBeGreaterThanOrEqual(before);
    });
  });

  describe('given any JSON value (property)', () => {
    const key = fc.oneof(
      fc.constantFrom('attributes', 'email', 'phone', 'customer_id', 'vuid', 'zaius_id', 'ts', '__proto__', 'constructor', 'prototype', 'first_name'),
      fc.string({ maxLength: 70 }),
    );
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.string({ unit: fc.nat(0xffff).map((c) => String.fromCharCode(c)), maxLength: 20 }), // lone surrogates too
      fc.constantFrom('a@b.co', 'guest', '+1 555 010 9999', '2024-05-01T12:00:00Z', 1_700_000_000, 1e400, -0),
      fc.array(fc.oneof(fc.string(), fc.double()), { maxLength: 5 }),
    );
    // Items that are mostly valid (an identifier, well-named attributes), so the accepting path is exercised too.
    const plausible = fc
      .tuple(
        fc.constantFrom<Record<string, unknown>>({ email: 'a@b.co' }, { vuid: 'v-1' }, { customer_id: 7 }, { phone: '555-867-5309', email: 'guest' }),
        fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/), value, { maxKeys: 6 }),
        fc.option(fc.oneof(fc.integer({ min: 0, max: 2e12 }), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())), { nil: undefined }),
      )
      .map(([ids, rest, ts]) => ({ attributes: { ...rest, ...ids, ...(ts === undefined ? {} : { ts }) } }));
    const item = fc.oneof(
      plausible,
      fc.record({ attributes: fc.dictionary(key, value, { maxKeys: 12 }) }),
      fc.dictionary(key, fc.oneof(value, fc.dictionary(key, value, { maxKeys: 5 })), { maxKeys: 4 }),
    );
    const body = fc.oneof(fc.jsonValue(), item, fc.array(item, { maxLength: 8 }));

    it('when validated, then it never throws and always returns exactly one kind of result', () => {
      let accepted = 0;
      fc.assert(
        fc.property(body, (b) => {
          // JSON round trip so inputs look exactly like JSON.parse output (own "__proto__" keys included)
          const parsed = JSON.parse(JSON.stringify(b) ?? 'null');
          const r = validate(parsed);
          if (r.ok) {
            for (const it of r.items) {
              if (it.identifiers.length === 0) return false;
              if (Number.isNaN(it.ts.getTime())) return false;
              if (it.ts.getTime() > receivedAt.getTime() + 3_600_000) return false; // never a future ts
              if (it.identifiers.some((i) => i.type === 'phone' && !/^\+[1-9]\d{6,14}$/.test(i.value))) return false; // E.164
              if (Object.getPrototypeOf(it.attributes) !== null || 'ts' in it.attributes) return false;
            }
            // and whatever validates builds into records the worker's decoder accepts unchanged
            accepted++;
            for (const record of buildProfileUpsertRecords('t1', r.items, receivedAt, rules)) {
              const decoded = parseProfileUpsertRecord(record.value);
              if (!decoded.ok || JSON.stringify(decoded.record) !== record.value) return false;
            }
            return true;
          }
          if ('invalids' in r) return r.invalids.length > 0 && r.invalids.every((i) => typeof i.message === 'string' && i.message.length > 0);
          return typeof r.bodyError === 'string';
        }),
        { numRuns: 3000 },
      );
      expect(accepted).toBeGreaterThan(30); // the accepting path was exercised too (about 3-4 % of random bodies; unseeded)
      expect(Object.prototype).not.toHaveProperty('polluted');
    });

    it('when validated with raw (non-JSON) values, then it never throws either', () => {
      fc.assert(
        fc.property(fc.oneof(fc.anything(), fc.array(fc.record({ attributes: fc.object() }))), (b) => {
          const r = validate(b);
          return typeof r.ok === 'boolean';
        }),
        { numRuns: 1000 },
      );
    });
  });
});

describe('given a string holding U+0000', () => {
  it('when posted as an attribute or identifier, then the item is invalid (PostgreSQL cannot store it, so it must never be accepted)', () => {
    const rules = IdentifierRules.defaults();
    const r = validateProfileUpsertBody([{ attributes: { email: 'a@b.co', note: 'a\u0000b' } }, { attributes: { vuid: 'v\u0000' } }], rules);
    expect(r).toEqual({
      ok: false,
      invalids: [
        { event: 0, message: expect.stringMatching(/`note`.*U\+0000/) },
        { event: 1, message: expect.stringMatching(/`vuid`.*U\+0000/) },
      ],
    });
  });
});
