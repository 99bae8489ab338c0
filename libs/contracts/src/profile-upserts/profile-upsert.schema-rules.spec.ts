// DESIGN §10 on the upsert validator: declared customer fields are type-checked, and the plural names
// of identifier types (`emails`, `fs_user_ids`, …) are reserved for look-ups.
import { IdentifierRules } from '@tessera/identity';
import type { CustomerFieldType } from './attribute-rules';
import { validateProfileUpsertBody, type ProfileUpsertValidation } from './profile-upsert.validator';

const rules = IdentifierRules.defaults().withCustomTypes([{ type: 'fs_user_id', confidence: 'high' }]);
const receivedAt = new Date('2024-06-01T10:00:00.000Z');
const fields = new Map<string, CustomerFieldType>([
  ['age', 'number'],
  ['nickname', 'string'],
  ['vip', 'boolean'],
  ['signed_up_at', 'timestamp'],
]);
const validate = (attributes: Record<string, unknown>, withFields = true): ProfileUpsertValidation =>
  validateProfileUpsertBody([{ attributes: { email: 'a@b.co' } }, { attributes: { email: 'c@d.co', ...attributes } }], rules, {
    receivedAt,
    fields: withFields ? fields : undefined,
  });
function messageOf(r: ProfileUpsertValidation): string {
  if (r.ok || !('invalids' in r)) throw new Error(`expected invalids, got ${JSON.stringify(r)}`);
  expect(r.invalids.map((i) => i.event)).toEqual([1]);
  return r.invalids[0].message;
}

describe('given declared customer fields', () => {
  it.each([
    ['age', 'forty', 'number'],
    ['age', true, 'number'],
    ['age', ['1'], 'number'],
    ['nickname', 42, 'string'],
    ['vip', 'yes', 'boolean'],
    ['signed_up_at', 'last tuesday', 'timestamp'],
    ['signed_up_at', false, 'timestamp'],
    ['signed_up_at', -5, 'timestamp'],
  ])('when `%s` is %j, then the item is invalid naming the field and its declared type %s', (name, value, type) => {
    const message = messageOf(validate({ [name]: value }));
    expect(message).toContain(`attribute \`${name}\``);
    expect(message).toContain(`declared field of type ${type}`);
  });

  it.each([
    ['age', 41],
    ['age', 0.5],
    ['nickname', 'Bobby'],
    ['vip', false],
    ['signed_up_at', '2024-05-01T12:00:00Z'],
    ['signed_up_at', '2024-05-01'],
    ['signed_up_at', 1714564800],
    ['signed_up_at', 1714564800000],
    ['age', null],
    ['signed_up_at', null],
  ])('when `%s` is %j, then the item is valid and keeps the value', (name, value) => {
    const r = validate({ [name]: value });
    if (!r.ok) throw new Error(JSON.stringify(r));
    expect(r.items[1].attributes[name]).toEqual(value);
  });

  it('when an attribute is not declared, then any valid value passes', () => {
    const r = validate({ favourite_colour: 7, notes: ['a', 1] });
    expect(r.ok).toBe(true);
  });

  it('when no fields are passed, then declared types are not enforced (the option is what turns it on)', () => {
    expect(validate({ age: 'forty' }, false).ok).toBe(true);
  });
});

describe('given the plural names of identifier types', () => {
  it.each([
    ['emails', 'email'],
    ['phones', 'phone'],
    ['vuids', 'vuid'],
    ['customer_ids', 'customer_id'],
    ['fs_user_ids', 'fs_user_id'],
  ])('when an upsert sets `%s`, then the item is invalid naming it', (plural, type) => {
    const message = messageOf(validate({ [plural]: ['x@y.co'] }, false));
    expect(message).toContain(`\`${plural}\` is reserved`);
    expect(message).toContain(`\`${type}\``);
  });

  it('when a tenant has no such custom type, then its would-be plural is an ordinary attribute', () => {
    const defaults = validateProfileUpsertBody({ attributes: { email: 'a@b.co', fs_user_ids: 'x' } }, IdentifierRules.defaults(), { receivedAt });
    expect(defaults.ok).toBe(true);
  });

  it('then zaius_ids is not reserved (zaius_id is the profile id; look-ups list no plural of it)', () => {
    expect(validate({ zaius_ids: 'x' }, false).ok).toBe(true);
  });
});
