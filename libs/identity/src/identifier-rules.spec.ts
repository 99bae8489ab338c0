import { IdentifierRules } from './identifier-rules';
import { REASON_PHONE_EXTENSION, phoneReason } from './phone-number';

describe('IdentifierRules', () => {
  const rules = IdentifierRules.defaults();

  it('when no region is set, then phones are read in the default region US', () => {
    expect(rules.defaultRegion).toBe('US');
  });

  describe('given the default rules', () => {
    it('when listing the types, then they follow the DESIGN §5 table in priority order', () => {
      expect(rules.types()).toEqual([
        { type: 'zaius_id', confidence: 'system', perProfileLimit: 1, priority: 0 },
        { type: 'customer_id', confidence: 'high', perProfileLimit: 1, priority: 1 },
        { type: 'email', confidence: 'high', perProfileLimit: null, priority: 2 },
        { type: 'phone', confidence: 'high', perProfileLimit: null, priority: 3 },
        { type: 'username', confidence: 'high', perProfileLimit: 1, priority: 4 },
        { type: 'vuid', confidence: 'low', perProfileLimit: null, priority: 5 },
      ]);
    });

    it('when asking whether attribute names are identifiers, then zaius_id is one and ordinary attributes are not', () => {
      expect(rules.isIdentifier('zaius_id')).toBe(true);
      expect(rules.isIdentifier('email')).toBe(true);
      expect(rules.isIdentifier('first_name')).toBe(false);
      expect(rules.isIdentifier('ts')).toBe(false);
      expect(rules.isIdentifier('__proto__')).toBe(false);
      expect(rules.isIdentifier('toString')).toBe(false);
      expect(rules.get('email')?.confidence).toBe('high');
      expect(rules.get('nope')).toBeUndefined();
    });
  });

  describe('given an email', () => {
    it('when it has spaces and capitals, then it is trimmed and lower-cased', () => {
      expect(rules.normalise('email', '  Jane.Doe@Example.COM ')).toEqual({ ok: true, value: 'jane.doe@example.com' });
    });
    it.each(['jane', 'jane@', '@example.com', 'jane@example', 'ja ne@example.com', 'jane@@example.com', 'jane@.com', 'jane@example.'])(
      'when it is %p, then it is invalid because it must look like an address',
      (raw) => {
        expect(rules.normalise('email', raw)).toEqual({ ok: false, blocked: false, reason: 'must look like an email address' });
      },
    );
  });

  describe('given a phone number and the default region US', () => {
    const notPossible = { ok: false, blocked: false, reason: phoneReason('US') };
    it.each(['555-867-5309', '+1 (555) 867-5309', '15558675309', '(555) 867-5309', ' 5558675309 ', '+15558675309', '+1.555.867.5309'])(
      'when it is written %p, then it is the one E.164 identifier +15558675309 (possible, though 555 is not a valid exchange)',
      (raw) => {
        expect(rules.normalise('phone', raw)).toEqual({ ok: true, value: '+15558675309' });
      },
    );
    it('when it carries another country code, then the code is kept', () => {
      expect(rules.normalise('phone', '+44 20 7946 0958')).toEqual({ ok: true, value: '+442079460958' });
    });
    it.each(['555-1234', '+12-345', '1234567', '5558675309999', 'call 555-867-5309', '1-800-FLOWERS', 'abc', '+ -1', '+999 123 4567'])(
      'when it is %p, then it is not a possible number and invalid (naming the region)',
      (raw) => {
        expect(rules.normalise('phone', raw)).toEqual(notPossible);
      },
    );
    it('when it has an extension, then it is invalid (everyone behind one switchboard would merge)', () => {
      expect(rules.normalise('phone', '+1 555 867 5309 ext. 12')).toEqual({ ok: false, blocked: false, reason: REASON_PHONE_EXTENSION });
    });
    it('when it is a number instead of a string, then it is invalid', () => {
      expect(rules.normalise('phone', 5550109999)).toEqual({ ok: false, blocked: false, reason: 'must be a string of 1-255 characters' });
    });
  });

  describe('given a tenant whose default region is GB', () => {
    const gb = IdentifierRules.defaults().withCustomTypes([{ type: 'loyalty_no', confidence: 'high' }]).withDefaultRegion('GB');
    it('when a national number is given, then it is read as a GB number', () => {
      expect(gb.defaultRegion).toBe('GB');
      expect(gb.normalise('phone', '020 7946 0958')).toEqual({ ok: true, value: '+442079460958' });
      expect(gb.normalise('phone', '+1 555 867 5309')).toEqual({ ok: true, value: '+15558675309' });
      expect(gb.isIdentifier('loyalty_no')).toBe(true);
    });
    it('when a national number has a length no GB number has, then it is invalid and the reason names GB', () => {
      expect(gb.normalise('phone', '020 794')).toEqual({ ok: false, blocked: false, reason: phoneReason('GB') });
    });
    it('when custom types are added after the region, then the region is kept', () => {
      expect(IdentifierRules.defaults().withDefaultRegion('DE').withCustomTypes([{ type: 'x_id', confidence: 'low' }]).defaultRegion).toBe('DE');
    });
    it.each(['gb', 'XX', 'UK', '', 'USA'])('when the region is %p, then it is a configuration error', (region) => {
      expect(() => IdentifierRules.defaults().withDefaultRegion(region)).toThrow(/default region/);
    });
  });

  describe('given a customer_id', () => {
    it('when it is a string, then it is trimmed but keeps its case', () => {
      expect(rules.normalise('customer_id', '  Cust-42 ')).toEqual({ ok: true, value: 'Cust-42' });
    });
    it('when it is a safe integer, then it becomes its decimal string', () => {
      expect(rules.normalise('customer_id', 42)).toEqual({ ok: true, value: '42' });
      expect(rules.normalise('customer_id', -7)).toEqual({ ok: true, value: '-7' });
    });
    it('when it is 0 or -1 as a number, then it is blocked like the strings', () => {
      expect(rules.normalise('customer_id', 0)).toEqual({ ok: false, blocked: true });
      expect(rules.normalise('customer_id', -1)).toEqual({ ok: false, blocked: true });
    });
    it.each([1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, true, { id: 1 }, ['1']])(
      'when it is %p, then it is invalid',
      (raw) => {
        expect(rules.normalise('customer_id', raw)).toEqual({
          ok: false,
          blocked: false,
          reason: 'must be a string of 1-255 characters or an integer',
        });
      },
    );
  });

  describe('given vuid and zaius_id', () => {
    it('when a vuid has spaces, then it is trimmed and keeps its case', () => {
      expect(rules.normalise('vuid', ' AbC123 ')).toEqual({ ok: true, value: 'AbC123' });
    });
    it('when a zaius_id is an upper-case UUID, then it is lower-cased (the canonical UUID form)', () => {
      expect(rules.normalise('zaius_id', ' 0F8FAD5B-D9CB-469F-A165-70867728950E ')).toEqual({
        ok: true,
        value: '0f8fad5b-d9cb-469f-a165-70867728950e',
      });
    });
    it.each(['test', 'p-1', '0f8fad5bd9cb469fa16570867728950e', '0f8fad5b-d9cb-469f-a165-70867728950g', 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e', 42])(
      'when a zaius_id is %p (not a UUID), then it is invalid: it must name an existing profile',
      (value) => {
        expect(rules.normalise('zaius_id', value)).toEqual({ ok: false, blocked: false, reason: expect.stringMatching(/UUID|string/) });
      },
    );
    it('when a zaius_id is not a UUID, then the reason says so', () => {
      expect(rules.normalise('zaius_id', 'test')).toEqual({ ok: false, blocked: false, reason: 'must be a UUID' });
    });
  });

  describe('given blocked values', () => {
    const blocked = ['', '   ', 'null', 'NULL', 'undefined', 'Undefined', 'anonymous', 'ANONYMOUS', 'guest', ' Guest ', '0', '-1', 'none', 'None', 'nan', 'NaN', '[object Object]', '[OBJECT OBJECT]'];
    it.each(blocked.flatMap((value) => ['email', 'phone', 'customer_id', 'vuid', 'zaius_id'].map((type) => [type, value])))(
      'when %s is %p, then it is blocked',
      (type, value) => {
        expect(rules.normalise(type, value)).toEqual({ ok: false, blocked: true });
      },
    );
    it('when the value is JS null or undefined, then it is blocked', () => {
      expect(rules.normalise('email', null)).toEqual({ ok: false, blocked: true });
      expect(rules.normalise('vuid', undefined)).toEqual({ ok: false, blocked: true });
    });
    it('when a blocked word is only part of the value, then it is not blocked', () => {
      expect(rules.normalise('vuid', 'guest-1')).toEqual({ ok: true, value: 'guest-1' });
      expect(rules.normalise('email', 'none@example.com')).toEqual({ ok: true, value: 'none@example.com' });
    });
  });

  describe('given length and type limits', () => {
    it('when a value has 255 characters, then it is accepted, and with 256 it is invalid', () => {
      expect(rules.normalise('vuid', 'v'.repeat(255))).toEqual({ ok: true, value: 'v'.repeat(255) });
      expect(rules.normalise('vuid', 'v'.repeat(256))).toEqual({ ok: false, blocked: false, reason: 'must be a string of 1-255 characters' });
    });
    it.each([42, true, { a: 1 }, ['x']])('when an email is %p, then it is invalid (wrong JS type)', (raw) => {
      expect(rules.normalise('email', raw)).toEqual({ ok: false, blocked: false, reason: 'must be a string of 1-255 characters' });
    });
    it('when the type is unknown, then the value is invalid', () => {
      expect(rules.normalise('shoe_size', '42')).toMatchObject({ ok: false, blocked: false });
    });
  });

  describe('given custom identifier types', () => {
    const custom = rules.withCustomTypes([
      { type: 'loyalty_id', confidence: 'high', perProfileLimit: 1 },
      { type: 'device_id', confidence: 'low' },
    ]);
    it('when added, then they rank after the defaults in the given order and are trimmed only', () => {
      expect(custom.types().slice(6)).toEqual([
        { type: 'loyalty_id', confidence: 'high', perProfileLimit: 1, priority: 6 },
        { type: 'device_id', confidence: 'low', perProfileLimit: null, priority: 7 },
      ]);
      expect(custom.isIdentifier('loyalty_id')).toBe(true);
      expect(custom.normalise('loyalty_id', ' AB-1 ')).toEqual({ ok: true, value: 'AB-1' });
      expect(custom.normalise('device_id', 'guest')).toEqual({ ok: false, blocked: true });
      expect(rules.isIdentifier('loyalty_id')).toBe(false); // the defaults are unchanged
    });
    it.each([
      [{ type: 'email', confidence: 'high' as const }],
      [{ type: 'Bad-Name', confidence: 'high' as const }],
      [{ type: 'ts', confidence: 'low' as const }],
      [{ type: 'constructor', confidence: 'low' as const }],
      [{ type: 'x', confidence: 'system' as unknown as 'high' }],
      [{ type: 'x', confidence: 'high' as const, perProfileLimit: 0 }],
    ])('when a definition is %p, then it is refused', (def) => {
      expect(() => rules.withCustomTypes([def])).toThrow();
    });
  });
});
