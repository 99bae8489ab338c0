import { IdentifierRules } from '@tessera/identity';
import { isUuidV7, uuidV7Timestamp } from '../ids/uuid-v7';
import {
  buildProfileUpsertRecords,
  parseProfileUpsertRecord,
  profileUpsertKey,
  type ProfileUpsertRecord,
} from './profile-upsert.record';
import { validateProfileUpsertBody, type ValidatedProfileUpsert } from './profile-upsert.validator';
import { PROFILE_UPSERT_HEADERS, PROFILE_UPSERT_SOURCE } from './profile-upserts.topic';
import { ZAIUS_EXAMPLE_BODY } from './zaius-example.fixture';

const rules = IdentifierRules.defaults();
const receivedAt = new Date('2024-06-01T10:00:00.000Z');

function validated(body: unknown): ValidatedProfileUpsert[] {
  const r = validateProfileUpsertBody(body, rules, { receivedAt });
  if (!r.ok) throw new Error(JSON.stringify(r));
  return r.items;
}
function build(body: unknown) {
  return buildProfileUpsertRecords('acme', validated(body), receivedAt, rules);
}
const keyOf = (attributes: Record<string, unknown>) => build({ attributes })[0].partitionKey;

describe('buildProfileUpsertRecords', () => {
  describe('given the Zaius documentation example payload', () => {
    it('when built, then there are two records with the right keys, ids, times, headers and attributes', () => {
      // given
      const body = JSON.parse(ZAIUS_EXAMPLE_BODY);
      const before = Date.now();
      // when
      const records = build(body);
      // then
      expect(records.map((r) => r.partitionKey)).toEqual(['acme:email:sample@test.com', 'acme:email:example@notreal.com']);
      const values: ProfileUpsertRecord[] = records.map((r) => JSON.parse(r.value));
      // The stored key is the record id: no personal data (DESIGN §4).
      expect(records.map((r) => r.key)).toEqual(values.map((v) => v.id));
      for (const [i, v] of values.entries()) {
        expect(Object.keys(v)).toEqual(['id', 'tenant', 'receivedAt', 'ts', 'source', 'attributes']);
        expect(isUuidV7(v.id)).toBe(true);
        expect(uuidV7Timestamp(v.id)).toBeGreaterThanOrEqual(before);
        expect(v).toMatchObject({
          tenant: 'acme',
          receivedAt: '2024-06-01T10:00:00.000Z',
          ts: '2024-06-01T10:00:00.000Z',
          source: 'api.v3.profiles',
          attributes: body[i].attributes,
        });
      }
      expect(values[0].id < values[1].id).toBe(true); // ids follow item order
      expect(values[0].attributes.first_name).toBe('Johnny');
      expect(values[1].attributes.first_name).toBe('Jenny');
      expect(records[0].headers).toEqual({ 'content-type': 'application/json', schema: 'profile-upsert.v1' });
    });
  });

  it('given an item with ts, when built, then the record ts is that time and ts is not an attribute', () => {
    const [record] = build({ attributes: { email: 'a@b.co', ts: '2024-05-01T12:00:00+02:00', plan: 'pro' } });
    const value = JSON.parse(record.value);
    expect(value.ts).toBe('2024-05-01T10:00:00.000Z');
    expect(value.receivedAt).toBe('2024-06-01T10:00:00.000Z');
    expect(value.attributes).toEqual({ email: 'a@b.co', plan: 'pro' });
  });

  it('given items validated without receivedAt, when built, then defaulted ts equals the receivedAt of the build', () => {
    const items = validateProfileUpsertBody({ attributes: { email: 'a@b.co' } }, rules);
    if (!items.ok) throw new Error('invalid');
    const [record] = buildProfileUpsertRecords('acme', items.items, receivedAt, rules);
    expect(JSON.parse(record.value).ts).toBe('2024-06-01T10:00:00.000Z');
  });

  it('given raw identifier values, when built, then the attributes stay raw and the partition key is normalised', () => {
    const [record] = build({ attributes: { email: '  Sample@Test.COM ' } });
    expect(record.partitionKey).toBe('acme:email:sample@test.com');
    expect(record.key).toBe(JSON.parse(record.value).id);
    expect(record.key).not.toContain('sample');
    expect(JSON.parse(record.value).attributes.email).toBe('  Sample@Test.COM ');
  });

  describe('given identifiers of several confidences', () => {
    it.each<[Record<string, unknown>, string]>([
      [{ vuid: 'v1', email: 'a@b.co' }, 'acme:email:a@b.co'], // high beats low
      [{ zaius_id: '0190d5c4-7b1e-7000-8000-0000000000aa', email: 'a@b.co' }, 'acme:email:a@b.co'], // zaius_id is system, not high
      [{ email: 'a@b.co', customer_id: 42 }, 'acme:customer_id:42'], // priority among high
      [{ phone: '555-867-5309', email: 'guest' }, 'acme:phone:+15558675309'], // blocked dropped
      [{ vuid: 'v1' }, 'acme:vuid:v1'], // else first identifier
      [{ zaius_id: '0190D5C4-7B1E-7000-8000-0000000000AA', vuid: 'v1' }, 'acme:zaius_id:0190d5c4-7b1e-7000-8000-0000000000aa'],
    ])('when %p is built, then the partition key is %s', (attributes, key) => {
      expect(keyOf(attributes)).toBe(key);
    });

    it('when a custom high-confidence type is the only high one, then it is the partition key', () => {
      const custom = rules.withCustomTypes([{ type: 'loyalty_no', confidence: 'high' }]);
      expect(profileUpsertKey('t', [{ type: 'vuid', value: 'v' }, { type: 'loyalty_no', value: 'L7' }], custom)).toBe('t:loyalty_no:L7');
    });
  });

  it('given many records, when built, then each has its own headers object (a client may mutate it)', () => {
    const records = build([{ attributes: { email: 'a@b.co' } }, { attributes: { email: 'c@d.co' } }]);
    records[0].headers.extra = 'x';
    expect(records[1].headers).toEqual(PROFILE_UPSERT_HEADERS);
    expect(PROFILE_UPSERT_HEADERS).not.toHaveProperty('extra');
  });

  it('given 500 items, when built, then ids are unique and ascending', () => {
    const body = Array.from({ length: 500 }, (_, i) => ({ attributes: { email: `u${i}@example.com` } }));
    const ids = build(body).map((r) => JSON.parse(r.value).id as string);
    expect(new Set(ids).size).toBe(500);
    expect([...ids].sort()).toEqual(ids);
  });

  it('given bad arguments, when built, then it throws (a programming error)', () => {
    const items = validated({ attributes: { email: 'a@b.co' } });
    expect(() => buildProfileUpsertRecords('', items, receivedAt, rules)).toThrow(/tenant/);
    expect(() => buildProfileUpsertRecords('acme', items, new Date(NaN), rules)).toThrow(RangeError);
    const noIds = [{ attributes: { first_name: 'x' }, ts: receivedAt, tsFromBody: false, identifiers: [] }];
    expect(() => buildProfileUpsertRecords('acme', noIds, receivedAt, rules)).toThrow(/identifier/);
  });
});

describe('parseProfileUpsertRecord', () => {
  const good = (): Record<string, unknown> => ({
    id: '018fd2a4-5c00-7abc-8def-0123456789ab',
    tenant: 'acme',
    receivedAt: '2024-06-01T10:00:00.000Z',
    ts: '2024-05-01T10:00:00.000Z',
    source: PROFILE_UPSERT_SOURCE,
    attributes: { email: 'a@b.co', tags: ['x', 1], gone: null, vip: true, score: 1.5 },
  });
  const errorOf = (raw: Buffer | string): string => {
    const r = parseProfileUpsertRecord(raw);
    if (r.ok) throw new Error('expected an error');
    return r.error;
  };
  const withField = (field: string, value: unknown) => JSON.stringify({ ...good(), [field]: value });
  const withAttribute = (name: string, value: unknown) =>
    JSON.stringify({ ...good(), attributes: { ...(good().attributes as object), [name]: value } });

  it('given built records, when parsed (as string or Buffer), then they decode to the same record', () => {
    // given
    const records = build(JSON.parse(ZAIUS_EXAMPLE_BODY));
    for (const r of records) {
      // when
      const fromString = parseProfileUpsertRecord(r.value);
      const fromBuffer = parseProfileUpsertRecord(Buffer.from(r.value));
      // then
      expect(fromString.ok && fromBuffer.ok).toBe(true);
      if (fromString.ok) {
        expect({ ...fromString.record, attributes: { ...fromString.record.attributes } }).toEqual(JSON.parse(r.value));
        expect(Object.getPrototypeOf(fromString.record.attributes)).toBeNull();
      }
    }
  });

  it('given a record with unknown extra fields, when parsed, then they are ignored (tolerant reader)', () => {
    const r = parseProfileUpsertRecord(withField('futureField', 1));
    expect(r.ok).toBe(true);
    if (r.ok) expect(Object.keys(r.record)).toEqual(['id', 'tenant', 'receivedAt', 'ts', 'source', 'attributes']);
  });

  it('given a record with values over the HTTP size limits, when parsed, then it still decodes (replay under old limits)', () => {
    expect(parseProfileUpsertRecord(withAttribute('bio', 'x'.repeat(20_000))).ok).toBe(true);
    expect(parseProfileUpsertRecord(withAttribute('tags', Array.from({ length: 300 }, (_, i) => i))).ok).toBe(true);
  });

  it.each<[string, Buffer | string, RegExp]>([
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), /not valid UTF-8/],
    ['not JSON', '{"id":', /not valid JSON/],
    ['empty', '', /not valid JSON/],
    ['an array', '[]', /must be a JSON object/],
    ['null', 'null', /must be a JSON object/],
    ['a missing id', JSON.stringify({ ...good(), id: undefined }), /^`id` must be/],
    ['a v4 id', withField('id', '9b2c7a4e-1f3d-4c2b-8a1e-0123456789ab'), /^`id` must be a lower-case UUID v7/],
    ['an upper-case id', withField('id', '018FD2A4-5C00-7ABC-8DEF-0123456789AB'), /^`id`/],
    ['an empty tenant', withField('tenant', ''), /^`tenant` must be a non-empty string/],
    ['a numeric tenant', withField('tenant', 7), /^`tenant`/],
    ['a non-canonical receivedAt', withField('receivedAt', '2024-06-01T10:00:00Z'), /^`receivedAt` must be an ISO 8601/],
    ['an impossible ts', withField('ts', '2024-02-30T00:00:00.000Z'), /^`ts` must be an ISO 8601/],
    ['an epoch ts', withField('ts', 1_700_000_000), /^`ts`/],
    ['a missing source', JSON.stringify({ ...good(), source: undefined }), /^`source` must be a non-empty string/],
    ['attributes as an array', withField('attributes', []), /^`attributes` must be an object/],
    ['attributes missing', JSON.stringify({ ...good(), attributes: undefined }), /^`attributes` must be an object/],
    ['a nested attribute', withAttribute('address', { city: 'x' }), /^`attributes.address` must be .*nested objects/],
    ['an infinite attribute', withAttribute('n', 0).replace('"n":0', '"n":1e400'), /^`attributes.n` must be a finite number/],
    ['a bad array element', withAttribute('tags', [true]), /^`attributes.tags` item 0 must be a string or a finite number/],
    ['an attribute named ts', withAttribute('ts', 1), /^`attributes.ts` must not be present/],
    ['a bad attribute name', withAttribute('First Name', 1), /^`attributes`: attribute name `First Name` must match/],
    ['a constructor attribute', withAttribute('constructor', 1), /^`attributes`: attribute name `constructor` is reserved/],
    ['a __proto__ attribute', withField('attributes', 0).replace('"attributes":0', '"attributes":{"__proto__":{"polluted":1}}'), /`__proto__` is reserved/],
    ['a lone surrogate', withAttribute('s', 'x').replace('"s":"x"', '"s":"\\ud800"'), /^`attributes.s` must be valid Unicode text/],
  ])('given a record value with %s, when parsed, then it is refused naming the field', (_label, raw, error) => {
    expect(errorOf(raw)).toMatch(error);
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});
