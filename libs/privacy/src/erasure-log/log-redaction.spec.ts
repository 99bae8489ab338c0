import { IdentifierRules } from '@tessera/identity';
import { ErasedIdentifiers, identifierHashesOf, namesErasedPerson, parseValue, redactedUnreadable, redactedValue } from './log-redaction';

const rules = IdentifierRules.defaults();
const hash = (tenant: string, type: string, value: string) => `${tenant}|${type}|${value}`;
const at = '2026-01-01T10:00:00.000Z';
const envelope = { id: 'r1', tenant: 't1', receivedAt: at, ts: at, source: 'api.v3.profiles' };

describe('identifierHashesOf', () => {
  it('reads identifiers by shape: upsert attributes, event identifiers (normalised), consent hash and value', () => {
    expect(identifierHashesOf({ ...envelope, attributes: { email: ' Ada@Example.com ', first_name: 'Ada', phone: '+1 415 555 0100' } }, rules, hash)).toEqual(
      expect.arrayContaining([{ type: 'email', hash: 't1|email|ada@example.com' }, { type: 'phone', hash: 't1|phone|+14155550100' }]),
    );
    expect(identifierHashesOf({ ...envelope, identifiers: { email: 'ADA@example.com', shoe: 'x' }, data: { email: 'not@an.identifier' } }, rules, hash)).toEqual([
      { type: 'email', hash: 't1|email|ada@example.com' },
    ]);
    expect(identifierHashesOf({ ...envelope, identifierType: 'email', identifierHash: 'H', identifierValue: 'ada@example.com' }, rules, hash)).toEqual([
      { type: 'email', hash: 'H' },
      { type: 'email', hash: 't1|email|ada@example.com' },
    ]);
  });

  it('normalises only the types asked for (the erased ones), and nothing without a tenant', () => {
    const value = { ...envelope, attributes: { email: 'ada@example.com', phone: '+14155550100' } };
    expect(identifierHashesOf(value, rules, hash, new Set(['email']))).toEqual([{ type: 'email', hash: 't1|email|ada@example.com' }]);
    expect(identifierHashesOf({ attributes: { email: 'ada@example.com' } }, rules, hash)).toEqual([]);
  });
});

describe('namesErasedPerson', () => {
  const erased = new ErasedIdentifiers();
  erased.add('t1', 'email', 't1|email|ada@example.com', Date.parse(at));
  const upsert = (receivedAt: string, tenant = 't1', email = 'ada@example.com') => ({ ...envelope, tenant, receivedAt, attributes: { email } });

  it('given a record received at or before the cut-off, then it is the erased person\'s', () => {
    expect(namesErasedPerson(upsert('2026-01-01T09:00:00.000Z'), erased, rules, hash)).toBe(true);
    expect(namesErasedPerson(upsert(at), erased, rules, hash)).toBe(true);
  });

  it('given a record received later, another tenant, another email, a redacted record or an erasure, then it is not', () => {
    expect(namesErasedPerson(upsert('2026-01-01T10:00:00.001Z'), erased, rules, hash)).toBe(false);
    expect(namesErasedPerson(upsert(at, 't2'), erased, rules, hash)).toBe(false);
    expect(namesErasedPerson(upsert(at, 't1', 'bob@example.com'), erased, rules, hash)).toBe(false);
    expect(namesErasedPerson({ ...upsert(at), redacted: true }, erased, rules, hash)).toBe(false);
    expect(namesErasedPerson({ ...envelope, source: 'api.v3.compliance', requestId: 'q', identifierType: 'email', identifierHash: 't1|email|ada@example.com' }, erased, rules, hash)).toBe(false);
  });

  it('given no readable receipt time, then it goes (when in doubt)', () => {
    expect(namesErasedPerson({ ...upsert(at), receivedAt: 'soon' }, erased, rules, hash)).toBe(true);
  });
});

describe('redacted forms', () => {
  it('keeps the envelope only, plus a consent\'s hash, decision, reason and time', () => {
    expect(JSON.parse(redactedValue({ ...envelope, attributes: { email: 'a@b.co' } }))).toEqual({ ...envelope, redacted: true });
    const consent = { ...envelope, source: 'api.v3.consent', identifierType: 'email', identifierValue: 'a@b.co', identifierHash: 'H', consent: false, reason: 'r', updateTs: at };
    expect(JSON.parse(redactedValue(consent))).toEqual({ ...envelope, source: 'api.v3.consent', identifierType: 'email', identifierHash: 'H', consent: false, reason: 'r', updateTs: at, redacted: true });
    expect(JSON.parse(redactedUnreadable('k1'))).toEqual({ id: 'k1', tenant: '', redacted: true });
  });

  it('parses only JSON objects', () => {
    expect(parseValue(Buffer.from('{"a":1}'))).toEqual({ a: 1 });
    expect(parseValue(Buffer.from('[1]'))).toBeUndefined();
    expect(parseValue(Buffer.from('{"a":'))).toBeUndefined();
    expect(parseValue(Buffer.alloc(0))).toBeUndefined();
  });
});
