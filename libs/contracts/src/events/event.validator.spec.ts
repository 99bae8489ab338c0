import fc from 'fast-check';
import { IdentifierRules, phoneReason } from '@tessera/identity';
import { buildEventRecords, parseEventRecord } from './event.record';
import { EVENT_IDENTIFIER_REQUIRED, MISSING_IDENTIFIERS, MISSING_TYPE, validateEventBody, type EventValidation, type ValidatedEvent } from './event.validator';

const rules = IdentifierRules.defaults().withCustomTypes([{ type: 'fs_user_id', confidence: 'high' }]);
const receivedAt = new Date('2024-06-01T10:00:00.000Z');
const validate = (body: unknown, opts: { maxItems?: number } = {}): EventValidation => validateEventBody(body, rules, { receivedAt, ...opts });

/** The shape Optimizely SDKs post (issue 10). */
const sdkEvent = (over: Record<string, unknown> = {}) => ({
  type: 'fullstack',
  action: 'identified',
  identifiers: { vuid: 'vuid-123', fs_user_id: 'user-9' },
  data: {
    idempotence_id: '5f3e1c9a-8d4b-4b8e-9d53-6a0f1e2b3c4d',
    data_source_type: 'sdk',
    data_source: 'javascript-sdk',
    data_source_version: '1.2.3',
  },
  ...over,
});
const ok = (over: Record<string, unknown> = {}) => ({ type: 'order', identifiers: { email: 'a@b.co' }, ...over });

function itemsOf(r: EventValidation): ValidatedEvent[] {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r.items;
}
function invalidsOf(r: EventValidation): Array<{ event: number; message: string }> {
  if (r.ok || !('invalids' in r)) throw new Error(`expected invalids, got ${JSON.stringify(r)}`);
  return r.invalids;
}
function bodyErrorOf(r: EventValidation): string {
  if (r.ok || !('bodyError' in r)) throw new Error(`expected bodyError, got ${JSON.stringify(r)}`);
  return r.bodyError;
}
/** Item 0 valid, item 1 the bad one, item 2 valid: the invalid index must be 1. */
function onlyMessage(badItem: unknown): string {
  const invalids = invalidsOf(validate([ok(), badItem, ok()]));
  expect(invalids).toHaveLength(1);
  expect(invalids[0].event).toBe(1);
  return invalids[0].message;
}

describe('validateEventBody', () => {
  describe('given the SDK shape with a declared custom identifier', () => {
    it('when validated, then it passes with raw identifiers, normalised ones in priority order, data kept and the received time', () => {
      // given
      const body = sdkEvent();
      // when
      const [item] = itemsOf(validate(body));
      // then
      expect(item.type).toBe('fullstack');
      expect(item.action).toBe('identified');
      expect({ ...item.identifiers }).toEqual({ vuid: 'vuid-123', fs_user_id: 'user-9' });
      expect(item.normalised).toEqual([
        { type: 'vuid', value: 'vuid-123' },
        { type: 'fs_user_id', value: 'user-9' },
      ]);
      expect({ ...item.data }).toEqual(body.data);
      expect(item.idempotenceId).toBe(body.data.idempotence_id);
      expect(item.ts).toEqual(receivedAt);
      expect(item.tsFromBody).toBe(false);
      expect(Object.getPrototypeOf(item.data)).toBeNull();
      expect(Object.getPrototypeOf(item.identifiers)).toBeNull();
    });

    it('when the tenant has not declared the custom type, then the item is invalid naming it', () => {
      const r = validateEventBody(sdkEvent(), IdentifierRules.defaults(), { receivedAt });
      const [inv] = invalidsOf(r);
      expect(inv.event).toBe(0);
      expect(inv.message).toMatch(/^`identifiers.fs_user_id` is not an identifier type of this tenant/);
      expect(inv.message).toContain('/v3/schema/identifiers');
    });
  });

  describe('given bodies of the wrong shape', () => {
    it.each([
      ['a string', 'x'],
      ['a number', 1],
      ['null', null],
      ['true', true],
    ])('when the body is %s, then a body error', (_what, body) => {
      expect(bodyErrorOf(validate(body))).toMatch(/object or an array of 1 to 500 objects/);
    });

    it('when the array is empty or over the limit, then a body error naming the count', () => {
      expect(bodyErrorOf(validate([]))).toMatch(/empty/);
      expect(bodyErrorOf(validate(Array.from({ length: 501 }, () => ok())))).toMatch(/got 501 items \(limit 500\)/);
    });

    it('when 500 items are sent, then all pass', () => {
      expect(itemsOf(validate(Array.from({ length: 500 }, (_, i) => ok({ identifiers: { vuid: `v${i}` } }))))).toHaveLength(500);
    });
  });

  describe('given one wrong field (item 1 of 3)', () => {
    it.each<[string, unknown, string | RegExp]>([
      ['an item that is a string', 'x', 'item must be an object'],
      ['an item that is an array', [ok()], 'item must be an object'],
      ['no type', { identifiers: { email: 'a@b.co' } }, MISSING_TYPE],
      ['type null', ok({ type: null }), '`type` must be a string matching'],
      ['type upper-case', ok({ type: 'Order' }), '`type` must be a string matching ^[a-z][a-z0-9_]{0,63}$ (got "Order")'],
      ['type of 65 characters', ok({ type: `a${'b'.repeat(64)}` }), '`type`'],
      ['type as a number', ok({ type: 7 }), '`type`'],
      ['action empty', ok({ action: '' }), '`action` must be a string matching'],
      ['action with a dash', ok({ action: 'add-to-cart' }), '`action`'],
      ['action as an object', ok({ action: { a: 1 } }), '`action`'],
      ['no identifiers', { type: 'order' }, MISSING_IDENTIFIERS],
      ['identifiers null', ok({ identifiers: null }), '`identifiers` must be an object'],
      ['identifiers an array', ok({ identifiers: [{ email: 'a@b.co' }] }), '`identifiers` must be an object'],
      ['identifiers a string', ok({ identifiers: 'a@b.co' }), '`identifiers` must be an object'],
      ['identifiers empty', ok({ identifiers: {} }), EVENT_IDENTIFIER_REQUIRED],
      ['only blocked identifiers', ok({ identifiers: { vuid: 'anonymous', email: ' GUEST ' } }), EVENT_IDENTIFIER_REQUIRED],
      ['an unknown identifier type', ok({ identifiers: { email: 'a@b.co', loyalty_no: 'L1' } }), /^`identifiers.loyalty_no` is not an identifier type/],
      ['__proto__ as an identifier type', JSON.parse('{"type":"t","identifiers":{"email":"a@b.co","__proto__":{"x":1}}}'), '`identifiers.__proto__`'],
      ['an invalid email', ok({ identifiers: { email: 'not-an-email' } }), '`identifiers.email` must look like an email address'],
      ['a phone that is not possible', ok({ identifiers: { phone: '555-1234' } }), `\`identifiers.phone\` ${phoneReason('US')}`],
      ['a zaius_id that is not a UUID', ok({ identifiers: { zaius_id: 'abc' } }), '`identifiers.zaius_id` must be a UUID'],
      ['a customer_id with a fraction', ok({ identifiers: { customer_id: 1.5 } }), '`identifiers.customer_id` must be a string of 1-255 characters or an integer'],
      ['a vuid as a number', ok({ identifiers: { vuid: 7 } }), '`identifiers.vuid` must be a string'],
      ['a vuid as an object', ok({ identifiers: { vuid: { $ne: null } } }), '`identifiers.vuid`'],
      ['a vuid of 256 characters', ok({ identifiers: { vuid: 'v'.repeat(256) } }), '`identifiers.vuid`'],
      ['a vuid holding NUL', ok({ identifiers: { vuid: 'a\u0000b' } }), '`identifiers.vuid` must not contain the NUL character'],
      ['a vuid holding a lone surrogate', ok({ identifiers: { vuid: 'a\ud800' } }), '`identifiers.vuid` must be valid Unicode'],
      ['data an array', ok({ data: [1] }), '`data` must be an object'],
      ['data null', ok({ data: null }), '`data` must be an object'],
      ['a nested data object', ok({ data: { address: { city: 'Boston' } } }), '`data.address` must be a string of at most 8192 bytes, a finite number, a boolean or null; arrays and nested objects'],
      ['a data array', ok({ data: { tags: ['a'] } }), '`data.tags`'],
      ['a data string over 8 KiB', ok({ data: { bio: 'x'.repeat(8193) } }), '`data.bio` must be a string of at most 8192 bytes'],
      ['an upper-case data name', ok({ data: { Price: 1 } }), '`data` field name `Price` must match'],
      ['constructor in data', ok({ data: { constructor: 1 } }), '`data` field name `constructor` is reserved'],
      ['__proto__ in data', JSON.parse('{"type":"t","identifiers":{"email":"a@b.co"},"data":{"__proto__":{"x":1}}}'), '`data` field name `__proto__`'],
      ['data.ts as a boolean', ok({ data: { ts: true } }), /^`data.ts` must be epoch seconds/],
      ['data.ts as a non-date string', ok({ data: { ts: 'yesterday' } }), '`data.ts`'],
      ['data.ts two hours ahead', ok({ data: { ts: '2024-06-01T12:00:01Z' } }), /^`data.ts` is more than 1 hour after the time the item was received/],
      ['data.ts negative', ok({ data: { ts: -1 } }), /^`data.ts` must be between/],
      ['idempotence_id empty', ok({ data: { idempotence_id: '' } }), '`data.idempotence_id` must be a string of 1-255 characters'],
      ['idempotence_id of 256 characters', ok({ data: { idempotence_id: 'i'.repeat(256) } }), '`data.idempotence_id`'],
      ['idempotence_id as a number', ok({ data: { idempotence_id: 42 } }), '`data.idempotence_id`'],
      ['an unknown top-level field', ok({ attributes: { x: 1 } }), 'unknown field `attributes`'],
    ])('when the item has %s, then only item 1 is invalid and the message names the field', (_what, bad, expected) => {
      const message = onlyMessage(bad);
      if (typeof expected === 'string') expect(message).toContain(expected);
      else expect(message).toMatch(expected);
    });

    it('when data has 257 fields besides ts, then the limit is named', () => {
      const data = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, i]));
      expect(onlyMessage(ok({ data: { ...data, ts: 1 } }))).toBe('`data` must hold at most 256 fields (got 257)');
      delete data.k0;
      expect(itemsOf(validate(ok({ data: { ...data, ts: 1 } })))[0].tsFromBody).toBe(true);
    });
  });

  describe('given accepted variations', () => {
    it('when action is absent or null, then action is null', () => {
      const [a, b] = itemsOf(validate([ok(), ok({ action: null })]));
      expect([a.action, b.action]).toEqual([null, null]);
    });

    it('when data is absent, then data is empty and there is no idempotence id', () => {
      const [item] = itemsOf(validate(ok()));
      expect({ ...item.data }).toEqual({});
      expect(item.idempotenceId).toBeNull();
    });

    it('when data.ts is given in each §3 format, then it is the event time and not kept in data', () => {
      const times = [1_717_230_000, 1_717_230_000_123, '2024-06-01T08:20:00+02:00', '2024-06-01'];
      const items = itemsOf(validate(times.map((ts) => ok({ data: { ts, price: 9.5 } }))));
      expect(items.map((i) => i.ts.toISOString())).toEqual([
        '2024-06-01T08:20:00.000Z',
        '2024-06-01T08:20:00.123Z',
        '2024-06-01T06:20:00.000Z',
        '2024-06-01T00:00:00.000Z',
      ]);
      expect(items.every((i) => i.tsFromBody && !('ts' in i.data) && i.data.price === 9.5)).toBe(true);
    });

    it('when data.ts is up to 1 hour ahead (clock skew), then it is accepted', () => {
      expect(itemsOf(validate(ok({ data: { ts: '2024-06-01T11:00:00Z' } })))[0].ts.toISOString()).toBe('2024-06-01T11:00:00.000Z');
    });

    it('when identifiers carry raw values, then they stay raw and the normalised ones are E.164 / lower-case', () => {
      const [item] = itemsOf(validate(ok({ identifiers: { email: ' A@B.CO ', phone: '555-867-5309', customer_id: 42, vuid: 'guest' } })));
      expect({ ...item.identifiers }).toEqual({ email: ' A@B.CO ', phone: '555-867-5309', customer_id: 42, vuid: 'guest' });
      expect(item.normalised).toEqual([
        { type: 'customer_id', value: '42' },
        { type: 'email', value: 'a@b.co' },
        { type: 'phone', value: '+15558675309' },
      ]);
    });

    it('when data names look like identifiers, then they are plain data (not identifiers)', () => {
      const [item] = itemsOf(validate(ok({ data: { email: 'other@b.co', vuid: 'x' } })));
      expect(item.normalised).toEqual([{ type: 'email', value: 'a@b.co' }]);
    });
  });

  describe('given several invalid items', () => {
    it('when validated, then every one is listed by index and several problems of one item are joined', () => {
      const r = validate([ok(), { type: 'X', identifiers: { nope: 1 } }, 7, ok({ data: { ts: false } })]);
      const invalids = invalidsOf(r);
      expect(invalids.map((i) => i.event)).toEqual([1, 2, 3]);
      expect(invalids[0].message).toMatch(/`type`.*; `identifiers.nope`/);
    });
  });

  describe('given any JSON value (property)', () => {
    const key = fc.oneof(
      fc.constantFrom('type', 'action', 'identifiers', 'data', 'email', 'vuid', 'fs_user_id', 'ts', 'idempotence_id', '__proto__', 'constructor', 'x'),
      fc.string({ maxLength: 70 }),
    );
    const scalar = fc.oneof(
      fc.jsonValue({ maxDepth: 1 }),
      fc.string({ unit: fc.nat(0xffff).map((c) => String.fromCharCode(c)), maxLength: 20 }),
      fc.constantFrom('a@b.co', 'guest', '+1 555 010 9999', '2024-05-01T12:00:00Z', 1_700_000_000, -0, 'order'),
    );
    const plausible = fc
      .tuple(
        fc.constantFrom('order', 'fullstack', 'Bad'),
        fc.option(fc.constantFrom('identified', 'purchase', null), { nil: undefined }),
        fc.constantFrom<Record<string, unknown>>({ email: 'a@b.co' }, { vuid: 'v-1', fs_user_id: 'u1' }, { customer_id: 7 }, { phone: '555-867-5309', email: 'guest' }),
        fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/), scalar, { maxKeys: 6 }),
      )
      .map(([type, action, identifiers, data]) => ({ type, ...(action === undefined ? {} : { action }), identifiers, data }));
    const item = fc.oneof(plausible, fc.dictionary(key, fc.oneof(scalar, fc.dictionary(key, scalar, { maxKeys: 5 })), { maxKeys: 5 }));
    const body = fc.oneof(fc.jsonValue(), item, fc.array(item, { maxLength: 8 }));

    it('when validated, then it never throws, and whatever validates builds into records the decoder accepts unchanged', () => {
      let accepted = 0;
      fc.assert(
        fc.property(body, (b) => {
          const parsed = JSON.parse(JSON.stringify(b) ?? 'null');
          const r = validate(parsed);
          if (r.ok) {
            accepted++;
            for (const it of r.items) {
              if (it.normalised.length === 0 || 'ts' in it.data || it.ts.getTime() > receivedAt.getTime() + 3_600_000) return false;
            }
            for (const record of buildEventRecords('t1', r.items, receivedAt, rules)) {
              const decoded = parseEventRecord(record.value);
              if (!decoded.ok || JSON.stringify(decoded.record) !== record.value) return false;
            }
            return true;
          }
          if ('invalids' in r) return r.invalids.length > 0 && r.invalids.every((i) => i.message.length > 0);
          return r.bodyError.length > 0;
        }),
        { numRuns: 2000 },
      );
      // About 5% of arbitrary bodies validate (≈ 100 of 2,000, varying by seed): enough that the round trip is exercised.
      expect(accepted).toBeGreaterThan(40);
      expect(Object.prototype).not.toHaveProperty('x');
    });
  });
});
