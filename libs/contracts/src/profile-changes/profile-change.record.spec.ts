import { IdentifierRules, profileIdFor } from '@tessera/identity';
import { decodeRecord, identifierRefsOf } from '../records/record-kinds';
import { hashPassword, isPasswordHash, verifyPassword } from './password-hash';
import { buildProfileChangeRecords, parseProfileChangeRecord } from './profile-change.record';
import { PROFILE_CHANGE_SCHEMA } from './profile-changes.topic';

const rules = IdentifierRules.defaults();
const at = new Date('2026-12-01T10:00:00.000Z');
const pid = profileIdFor('0193aaaa-0000-7000-8000-000000000001');

describe('profile-change.v1 records', () => {
  it('given a create, when built, then the key is the record id, the partition is the upsert rule and the value parses back', () => {
    const [r] = buildProfileChangeRecords('acme', [{ op: 'create', attributes: { vuid: 'v1', email: ' Ann@X.io ', city: 'Oslo' }, status: 'closed', tags: ['vip'] }], at, rules);
    expect(r.key).toBe(r.id);
    expect(r.partitionKey).toBe('acme:email:ann@x.io');
    expect(r.headers).toEqual({ 'content-type': 'application/json', schema: PROFILE_CHANGE_SCHEMA });
    const parsed = parseProfileChangeRecord(r.value);
    expect(parsed).toMatchObject({ ok: true, record: { id: r.id, op: 'create', ts: at.toISOString(), receivedAt: at.toISOString(), status: 'closed', tags: ['vip'] } });
    expect(parsed.ok && 'attributes' in parsed.record && { ...parsed.record.attributes }).toEqual({ vuid: 'v1', email: ' Ann@X.io ', city: 'Oslo' });
  });

  it('given changes naming a profile, then their partition key is <tenant>:zaius_id:<id> and each op decodes through the registry', () => {
    const records = buildProfileChangeRecords(
      'acme',
      [
        { op: 'patch', profileId: pid, attributes: { city: 'Rome' } },
        { op: 'replace', profileId: pid, attributes: { email: 'a@x.io' }, isPrimary: true, customer: 'c-1' },
        { op: 'link-contact', profileId: pid, contact: { type: 'phone', value: '5550000001' } },
        { op: 'unlink-contact', profileId: pid, contactId: 'abcDEF_-123' },
        { op: 'replace-contact', profileId: pid, contactId: 'abcDEF_-123', contact: { type: 'email', value: 'B@x.io' } },
      ],
      at,
      rules,
    );
    for (const r of records) expect(r.partitionKey).toBe(`acme:zaius_id:${pid}`);
    const decoded = records.map((r) => decodeRecord(Buffer.from(r.value), PROFILE_CHANGE_SCHEMA));
    expect(decoded.map((d) => d.ok && d.decoded.kind === 'profile-change' && d.decoded.record.op)).toEqual(['patch', 'replace', 'link-contact', 'unlink-contact', 'replace-contact']);
    const refs = decoded.map((d) => (d.ok ? identifierRefsOf(d.decoded, rules) : []));
    expect(refs[0]).toEqual([{ type: 'zaius_id', value: pid }]);
    expect(refs[2]).toEqual([{ type: 'phone', value: '+15550000001' }, { type: 'zaius_id', value: pid }]);
    expect(refs[4]).toEqual([{ type: 'email', value: 'b@x.io' }, { type: 'zaius_id', value: pid }]);
  });

  it.each([
    [{ op: 'delete' }, '`op`'],
    [{ op: 'patch', profileId: 'nope', attributes: {} }, '`profileId`'],
    [{ op: 'patch', profileId: pid, attributes: { $status: 'closed' } }, '`attributes`'],
    [{ op: 'create', attributes: { email: 'a@x.io' }, status: 'gone' }, '`status`'],
    [{ op: 'create', attributes: { email: 'a@x.io' }, tags: [1] }, '`tags`'],
    [{ op: 'create', attributes: { email: 'a@x.io' }, passwordHash: 'hunter22' }, '`passwordHash`'],
    [{ op: 'link-contact', profileId: pid, contact: { type: 'email' } }, '`contact.value`'],
    [{ op: 'unlink-contact', profileId: pid, contactId: 'a/b' }, '`contactId`'],
  ])('given a broken value %j, then the parse error names %s', (change, field) => {
    const value = JSON.stringify({ id: '0193aaaa-0000-7000-8000-000000000001', tenant: 'acme', receivedAt: at.toISOString(), ts: at.toISOString(), source: 'api.v1.profiles', ...change });
    const parsed = parseProfileChangeRecord(value);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.error).toContain(field);
  });
});

describe('password hashes', () => {
  it('given a password, when hashed, then the hash is self-describing scrypt, salted, and verifies only that password', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(isPasswordHash(a)).toBe(true);
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct');
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('wrong horse', a)).toBe(false);
  });
});
