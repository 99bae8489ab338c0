import { buildProfileChangeRecords, contactIdOf } from '@tessera/contracts';
import { IdentifierRules, profileIdFor } from '@tessera/identity';
import { ErasedIdentifiers, namesErasedPerson, parseValue } from '@tessera/privacy';

const rules = IdentifierRules.defaults();
const hash = (tenant: string, type: string, value: string) => `${tenant}|${type}|${value}`;
const before = new Date('2026-12-01T10:00:00.000Z');
const erasedAt = Date.parse('2026-12-01T11:00:00.000Z');

describe('profile-change records and the log redaction of an erasure (DESIGN §11)', () => {
  const pid = profileIdFor('0193aaaa-0000-7000-8000-000000000001');
  const erased = new ErasedIdentifiers();
  erased.add('acme', 'zaius_id', hash('acme', 'zaius_id', pid), erasedAt);

  it('given the erased profile, then every native write naming it before the erasure is found — patches without identifiers, password changes and contacts included', () => {
    const records = buildProfileChangeRecords(
      'acme',
      [
        { op: 'patch', profileId: pid, attributes: { first_name: 'Ann' }, passwordHash: 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$' + 'B'.repeat(43) },
        { op: 'replace', profileId: pid, attributes: { city: 'Oslo' } },
        { op: 'link-contact', profileId: pid, contact: { type: 'phone', value: '5550000001' } },
        { op: 'unlink-contact', profileId: pid, contactId: contactIdOf('acme', 'email', 'a@x.io') },
        { op: 'replace-contact', profileId: pid, contactId: 'c', contact: { type: 'email', value: 'b@x.io' } },
      ],
      before,
      rules,
    );
    for (const r of records) expect(namesErasedPerson(parseValue(r.value)!, erased, rules, hash)).toBe(true);
  });

  it('given a create whose profile was erased later, then it is found by the profile it created, even when its identifiers were unlinked first', () => {
    const [create] = buildProfileChangeRecords('acme', [{ op: 'create', attributes: { email: 'gone@x.io', first_name: 'Gone' } }], before, rules);
    const own = new ErasedIdentifiers();
    own.add('acme', 'zaius_id', hash('acme', 'zaius_id', profileIdFor(create.id)), erasedAt);
    expect(namesErasedPerson(parseValue(create.value)!, own, rules, hash)).toBe(true);
  });

  it('given another profile, or a write received after the erasure, then it is not the erased person\'s', () => {
    const [other] = buildProfileChangeRecords('acme', [{ op: 'patch', profileId: profileIdFor('other'), attributes: { a: 1 } }], before, rules);
    const [after] = buildProfileChangeRecords('acme', [{ op: 'patch', profileId: pid, attributes: { a: 1 } }], new Date(erasedAt + 1000), rules);
    expect(namesErasedPerson(parseValue(other.value)!, erased, rules, hash)).toBe(false);
    expect(namesErasedPerson(parseValue(after.value)!, erased, rules, hash)).toBe(false);
  });
});
