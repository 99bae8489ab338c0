import { IdentifierRules } from '@tessera/identity';
import { parseContactBody, parseProfileBody, type BodyRules, type ProfileBodyOptions } from './profile-body';
import { foldContacts } from './contact-fold';

const rules: BodyRules = { identifiers: IdentifierRules.defaults(), fields: new Map([['age', 'number' as const]]) };
const create: ProfileBodyOptions = { mode: 'create', route: 'profiles' };
const ID = '0190a4c2-7d1e-7b3a-9c55-2f4d8e6a1b20';

function errorsOf(body: unknown, options: ProfileBodyOptions = create) {
  const parsed = parseProfileBody(body, rules, options);
  if (parsed.ok) throw new Error('expected errors');
  return parsed.errors;
}

describe('parseProfileBody', () => {
  it('given a full create body, when parsed, then every writable field is taken and contacts are normalised', () => {
    const parsed = parseProfileBody(
      { attributes: { email: 'Mary@Example.com', first_name: 'Mary' }, status: 'suspended', tags: ['blue', 'green', 'blue'], password: 'correct horse', contacts: [{ key: 'phone', value: '+1 415 555 0123' }] },
      rules,
      create,
    );
    expect(parsed).toEqual({
      ok: true,
      value: {
        attributes: { email: 'Mary@Example.com', first_name: 'Mary' },
        status: 'suspended',
        tags: ['blue', 'green'],
        password: 'correct horse',
        contacts: [{ type: 'phone', value: '+14155550123' }],
      },
    });
  });

  it('given the read-only fields of a profile object, when parsed, then they are ignored (PUT back what you read)', () => {
    const read = {
      id: ID,
      status: 'active',
      enabled: true,
      tags: [],
      attributes: { email: 'a@b.co', zaius_id: ID },
      contacts: [{ contact_id: 'q3Jx0m1s8bqk4Zy7dC2wEw', key: 'email', value: 'a@b.co', created_at: 'x', updated_at: 'y' }],
      has_password: false,
      created_at: 'x',
      updated_at: 'y',
    };
    const parsed = parseProfileBody(read, rules, { mode: 'replace', route: 'profiles', profileId: ID });
    expect(parsed).toEqual({ ok: true, value: { attributes: { email: 'a@b.co' }, status: 'active', tags: [], contacts: [{ type: 'email', value: 'a@b.co' }] } });
  });

  it('given unknown fields at every level, when parsed, then 422 paths name each of them', () => {
    const errors = errorsOf({ attributes: { email: 'a@b.co' }, enabled_x: 1, contacts: [{ key: 'email', value: 'c@d.co', uuid: null }] });
    expect(errors.map((e) => e.field)).toEqual(['enabled_x', 'contacts[0].uuid']);
  });

  it('given bad values, when parsed, then each error names its precise field path', () => {
    const errors = errorsOf({
      attributes: { email: 'not-an-email', 'Bad-Name': 1, nested: { a: 1 }, age: 'old', ts: 1 },
      status: 'deleted',
      tags: ['ok', 7, ' padded', ''],
      password: 'short',
      contacts: [{ key: 'fax', value: '1' }, { key: 'email', value: 'null' }, 'x'],
      is_primary: 'yes',
      customer: '',
    });
    expect(errors.map((e) => e.field)).toEqual([
      'attributes.email',
      'attributes.Bad-Name',
      'attributes.nested',
      'attributes.age',
      'attributes.ts',
      'contacts[0].key',
      'contacts[1].value',
      'contacts[2]',
      'status',
      'tags[1]',
      'tags[2]',
      'tags[3]',
      'password',
      'customer',
      'is_primary',
    ]);
  });

  it('given a create without any identifier, when parsed, then 422 at attributes; an identifier in contacts is enough', () => {
    expect(errorsOf({ attributes: { first_name: 'Mary' } })).toEqual([{ field: 'attributes', message: expect.stringContaining('at least one identifier') }]);
    expect(errorsOf({})).toEqual([{ field: 'attributes', message: expect.stringContaining('is required') }]);
    expect(parseProfileBody({ attributes: { first_name: 'Mary' }, contacts: [{ key: 'email', value: 'm@x.co' }] }, rules, create).ok).toBe(true);
  });

  it('given zaius_id or plural look-up names in attributes, when parsed, then they are refused (an id repeated on its own profile is ignored)', () => {
    expect(errorsOf({ attributes: { email: 'a@b.co', zaius_id: ID } }).map((e) => e.field)).toEqual(['attributes.zaius_id']);
    expect(errorsOf({ attributes: { emails: ['a@b.co'] } }, { mode: 'patch', route: 'profiles', profileId: ID }).map((e) => e.field)).toEqual(['attributes.emails']);
    const other = '0190a4c2-7d1e-7b3a-9c55-2f4d8e6a1b21';
    expect(errorsOf({ attributes: { zaius_id: other } }, { mode: 'patch', route: 'profiles', profileId: ID }).map((e) => e.field)).toEqual(['attributes.zaius_id']);
  });

  it('given customers\' routes, when parsed, then `customer` is read-only, `password_confirm` must match and is never kept', () => {
    const options: ProfileBodyOptions = { mode: 'create', route: 'customers' };
    const ok = parseProfileBody({ customer: 'other', attributes: { username: 'mary' }, is_primary: true, password: 'secret-pass', password_confirm: 'secret-pass' }, rules, options);
    expect(ok).toEqual({ ok: true, value: { attributes: { username: 'mary' }, isPrimary: true, password: 'secret-pass', contacts: [] } });
    expect(errorsOf({ attributes: { username: 'mary' }, password: 'secret-pass', password_confirm: 'other-pass' }, options).map((e) => e.field)).toEqual(['password_confirm']);
    expect(errorsOf({ attributes: { username: 'mary' }, password_confirm: 'secret-pass' }, create).map((e) => e.field)).toEqual(['password_confirm']);
  });

  it('given a password of 8 and of 128 characters, when parsed, then both are taken; 7 and 129 are refused', () => {
    for (const n of [8, 128]) expect(parseProfileBody({ attributes: { vuid: 'v' }, password: 'é'.repeat(n) }, rules, create).ok).toBe(true);
    for (const n of [7, 129]) expect(errorsOf({ attributes: { vuid: 'v' }, password: 'x'.repeat(n) }).map((e) => e.field)).toEqual(['password']);
  });

  it('given a body that is not an object, when parsed, then one error at the root', () => {
    for (const body of [null, [], 'x', 1, undefined]) expect(errorsOf(body)).toEqual([{ field: '$', message: expect.any(String) }]);
  });

  it('given thousands of bad tags, when parsed, then the error list is bounded', () => {
    const errors = errorsOf({ attributes: { vuid: 'v' }, tags: Array.from({ length: 100 }, () => 1) });
    expect(errors.length).toBe(51);
    expect(errors[50].message).toContain('50 more');
  });
});

describe('parseContactBody', () => {
  const identifiers = IdentifierRules.defaults();

  it('given POST and PUT, when key or value is missing, then both are required', () => {
    expect(parseContactBody({ key: 'email' }, identifiers, 'post')).toEqual({ ok: false, errors: [{ field: 'value', message: 'is required' }] });
    expect(parseContactBody({ value: 'a@b.co' }, identifiers, 'put')).toEqual({ ok: false, errors: [{ field: 'key', message: 'is required' }] });
  });

  it('given PATCH with only a value, when parsed, then the key of the existing contact is kept', () => {
    expect(parseContactBody({ value: 'NEW@b.co' }, identifiers, 'patch', { key: 'email', value: 'old@b.co' })).toEqual({ ok: true, value: { type: 'email', value: 'new@b.co' } });
  });

  it('given zaius_id or an unknown type as key, when parsed, then 422 at key', () => {
    for (const key of ['zaius_id', 'fax', 3]) expect(parseContactBody({ key, value: 'x' }, identifiers, 'post')).toEqual({ ok: false, errors: [{ field: 'key', message: expect.stringContaining('identifier type') }] });
  });
});

describe('foldContacts', () => {
  const normalise = (type: string, value: unknown) => {
    const n = IdentifierRules.defaults().normalise(type, value);
    return n.ok ? n.value : undefined;
  };

  it('given contacts, when folded into a create, then free attributes take them and the rest are linked after', () => {
    const folded = foldContacts({ email: 'A@b.co', first_name: 'M' }, [{ type: 'email', value: 'a@b.co' }, { type: 'email', value: 'c@d.co' }, { type: 'phone', value: '+14155550123' }], normalise);
    expect(folded).toEqual({ attributes: { email: 'A@b.co', first_name: 'M', phone: '+14155550123' }, rest: [{ type: 'email', value: 'c@d.co' }] });
  });
});
