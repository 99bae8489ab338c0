import { IdentifierRules } from '@tessera/identity';
import { isUuidV7, uuidV7Timestamp } from '../ids/uuid-v7';
import { buildEventRecords, eventIdempotenceId, parseEventRecord, type EventRecord } from './event.record';
import { validateEventBody, type ValidatedEvent } from './event.validator';

const rules = IdentifierRules.defaults().withCustomTypes([{ type: 'fs_user_id', confidence: 'high' }]);
const receivedAt = new Date('2024-06-01T10:00:00.000Z');

function validated(body: unknown): ValidatedEvent[] {
  const r = validateEventBody(body, rules, { receivedAt });
  if (!r.ok) throw new Error(JSON.stringify(r));
  return r.items;
}
const build = (body: unknown) => buildEventRecords('acme', validated(body), receivedAt, rules);

const sdk = {
  type: 'fullstack',
  action: 'identified',
  identifiers: { vuid: ' VUID-1 ', fs_user_id: 'user-9' },
  data: { idempotence_id: 'idem-1', data_source_type: 'sdk', data_source: 'javascript-sdk', data_source_version: '1.2.3' },
};

describe('buildEventRecords', () => {
  it('given the SDK shape, when built, then one event.v1 record keyed by its id, partitioned by the high-confidence identifier', () => {
    // given
    const before = Date.now();
    // when
    const [record] = build(sdk);
    // then
    const value: EventRecord = JSON.parse(record.value);
    expect(Object.keys(value)).toEqual(['id', 'tenant', 'receivedAt', 'ts', 'source', 'type', 'action', 'identifiers', 'data']);
    expect(isUuidV7(value.id)).toBe(true);
    expect(uuidV7Timestamp(value.id)).toBeGreaterThanOrEqual(before);
    expect(value).toEqual({
      id: value.id,
      tenant: 'acme',
      receivedAt: '2024-06-01T10:00:00.000Z',
      ts: '2024-06-01T10:00:00.000Z',
      source: 'api.v3.events',
      type: 'fullstack',
      action: 'identified',
      identifiers: { vuid: ' VUID-1 ', fs_user_id: 'user-9' }, // raw, as accepted
      data: sdk.data,
    });
    expect(record.key).toBe(value.id); // no personal data in the stored key (DESIGN §4)
    expect(record.partitionKey).toBe('acme:fs_user_id:user-9'); // high confidence beats the earlier vuid
    expect(record.headers).toEqual({ 'content-type': 'application/json', schema: 'event.v1' });
  });

  it('given only low-confidence identifiers, when built, then the first one (normalised) is the partition key', () => {
    expect(build({ type: 'page', identifiers: { vuid: ' V-2 ' } })[0].partitionKey).toBe('acme:vuid:V-2');
  });

  it('given the same person by upsert and by event, when built, then both share the partition key', async () => {
    const { buildProfileUpsertRecords, validateProfileUpsertBody } = await import('../index');
    const upsert = validateProfileUpsertBody({ attributes: { email: 'A@B.co', vuid: 'v' } }, rules, { receivedAt });
    if (!upsert.ok) throw new Error('invalid');
    const [u] = buildProfileUpsertRecords('acme', upsert.items, receivedAt, rules);
    const [e] = build({ type: 'order', identifiers: { vuid: 'v', email: ' a@b.CO' } });
    expect(e.partitionKey).toBe(u.partitionKey);
  });

  it('given data.ts, when built, then ts is the event time and data has no ts', () => {
    const [record] = build({ type: 'order', action: 'purchase', identifiers: { email: 'a@b.co' }, data: { ts: 1_717_200_000, price: 5 } });
    const value = JSON.parse(record.value);
    expect(value.ts).toBe('2024-06-01T00:00:00.000Z');
    expect(value.data).toEqual({ price: 5 });
  });

  it('given several items, when built, then ids follow item order and each has its own headers object', () => {
    const records = build([sdk, { type: 'page', identifiers: { vuid: 'x' } }]);
    expect(JSON.parse(records[0].value).id < JSON.parse(records[1].value).id).toBe(true);
    records[0].headers.schema = 'mutated';
    expect(records[1].headers.schema).toBe('event.v1');
  });

  it('given programming errors, when built, then it throws', () => {
    expect(() => buildEventRecords('', validated(sdk), receivedAt, rules)).toThrow(/tenant/);
    expect(() => buildEventRecords('acme', validated(sdk), new Date(NaN), rules)).toThrow(RangeError);
  });
});

describe('eventIdempotenceId', () => {
  it('given records with and without an idempotence id, then the id or null', () => {
    const [withId, without] = build([sdk, { type: 'page', identifiers: { vuid: 'x' } }]).map((r) => JSON.parse(r.value));
    expect(eventIdempotenceId(withId)).toBe('idem-1');
    expect(eventIdempotenceId(without)).toBeNull();
  });
});

describe('parseEventRecord', () => {
  const [template] = build(sdk);
  const mutate = (f: (r: Record<string, any>) => void) => {
    const r = JSON.parse(template.value);
    f(r);
    return JSON.stringify(r);
  };

  it('given a built record as a Buffer or a string, when parsed, then it round-trips with null-prototype maps', () => {
    for (const raw of [template.value, Buffer.from(template.value)]) {
      const r = parseEventRecord(raw);
      if (!r.ok) throw new Error(r.error);
      expect(JSON.stringify(r.record)).toBe(template.value);
      expect(Object.getPrototypeOf(r.record.data)).toBeNull();
      expect(Object.getPrototypeOf(r.record.identifiers)).toBeNull();
    }
  });

  it('given an unknown extra top-level field, when parsed, then it is ignored (tolerant reader)', () => {
    const r = parseEventRecord(mutate((v) => (v.extra = 1)));
    expect(r.ok && 'extra' in r.record).toBe(false);
  });

  it.each<[string, string | Buffer, RegExp]>([
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), /UTF-8/],
    ['not JSON', '{{', /JSON/],
    ['an array', '[]', /object/],
    ['a UUID v4 id', mutate((v) => (v.id = '3b241101-e2bb-4255-8caf-4136c566a962')), /`id`/],
    ['no tenant', mutate((v) => delete v.tenant), /`tenant`/],
    ['a non-canonical receivedAt', mutate((v) => (v.receivedAt = '2024-06-01T10:00:00Z')), /`receivedAt`/],
    ['no ts', mutate((v) => delete v.ts), /`ts`/],
    ['an empty source', mutate((v) => (v.source = '')), /`source`/],
    ['an upper-case type', mutate((v) => (v.type = 'Order')), /`type`/],
    ['no action (must be null or a name)', mutate((v) => delete v.action), /`action`/],
    ['identifiers an array', mutate((v) => (v.identifiers = [])), /`identifiers` must be an object/],
    ['identifiers empty', mutate((v) => (v.identifiers = {})), /at least one identifier/],
    ['an identifier as an object', mutate((v) => (v.identifiers.vuid = { a: 1 })), /`identifiers.vuid`/],
    ['an identifier holding NUL', mutate((v) => (v.identifiers.vuid = 'a\u0000')), /`identifiers.vuid`/],
    ['a bad identifier type name', mutate((v) => (v.identifiers['Bad Name'] = 'x')), /`identifiers`: identifier type/],
    ['data missing', mutate((v) => delete v.data), /`data` must be an object/],
    ['data.ts present', mutate((v) => (v.data.ts = 1)), /`data.ts` must not be present/],
    ['a nested data value', mutate((v) => (v.data.x = { y: 1 })), /`data.x`/],
    ['a data array', mutate((v) => (v.data.x = [1])), /`data.x`/],
    ['a data name __proto__', template.value.replace('"data":{', '"data":{"__proto__":1,'), /`data`: field name `__proto__`/],
    ['a numeric idempotence_id', mutate((v) => (v.data.idempotence_id = 5)), /`data.idempotence_id`/],
  ])('given %s, when parsed, then an error naming the field', (_what, raw, error) => {
    const r = parseEventRecord(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(error);
  });

  it('given values beyond the HTTP limits, when parsed, then they still decode (records accepted under older limits replay)', () => {
    const r = parseEventRecord(mutate((v) => (v.data.bio = 'x'.repeat(20_000))));
    expect(r.ok).toBe(true);
  });
});
