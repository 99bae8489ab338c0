import type { CustomerSchemaState } from '@tessera/store';
import { SchemaRequestError } from '../schema-request.error';
import { decideIdentifier, defaultDisplayName, identifierCreated, listIdentifiers, parseIdentifierRequest } from './identifier-schema.rules';

const empty: CustomerSchemaState = { identifierTypes: [], fields: [] };
const request = (name: string, extra: Record<string, unknown> = {}) => ({ name, display_name: 'X', merge_confidence: 'high', ...extra });

function refusal(fn: () => unknown): SchemaRequestError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SchemaRequestError) return error;
    throw error;
  }
  throw new Error('expected a SchemaRequestError');
}

describe('parseIdentifierRequest', () => {
  it.each(['fs_user_id', 'device_hash', 'card_number', 'push_token', 'nick_alias', 'email_address', 'api_key', 'a_b_c_id'])('accepts %s', (name) => {
    expect(parseIdentifierRequest(request(name)).name).toBe(name);
  });

  it.each(['id', '_id', 'fs_user', 'fs-user_id', 'Fs_user_id', 'fs_user_ids', `${'a'.repeat(62)}_id`, '1_id'])('refuses the name %j naming `name`', (name) => {
    expect(refusal(() => parseIdentifierRequest(request(name))).invalids).toEqual([{ field: 'name', reason: expect.stringContaining('must match') }]);
  });

  it('defaults messaging to false and trims the display name', () => {
    expect(parseIdentifierRequest({ name: 'a_id', display_name: ' A ', merge_confidence: 'low' })).toEqual({
      name: 'a_id',
      display_name: 'A',
      merge_confidence: 'low',
      messaging: false,
      perProfileLimit: null,
    });
  });
});

describe('decideIdentifier', () => {
  it('appends the type after the existing custom ones', () => {
    const state: CustomerSchemaState = { identifierTypes: [{ type: 'b_id', confidence: 'low' }], fields: [] };
    expect(decideIdentifier(state, parseIdentifierRequest(request('a_id'), 1)).map((t) => [t.type, t.perProfileLimit])).toEqual([
      ['b_id', undefined],
      ['a_id', 1],
    ]);
  });

  it.each([
    ['a built-in type', empty, 'customer_id'],
    ['a custom type', { identifierTypes: [{ type: 'fs_user_id', confidence: 'high' as const }], fields: [] }, 'fs_user_id'],
    ['a declared field', { identifierTypes: [], fields: [{ name: 'club_id', type: 'string' as const, displayName: null, description: null }] }, 'club_id'],
    ['a declared field under its plural', { identifierTypes: [], fields: [{ name: 'club_ids', type: 'string' as const, displayName: null, description: null }] }, 'club_id'],
  ])('refuses a name taken by %s as customers.name in use', (_, state, name) => {
    expect(refusal(() => decideIdentifier(state, parseIdentifierRequest(request(name)))).invalids).toEqual([
      { field: 'customers.name', reason: 'already used by another object' },
    ]);
  });
});

describe('answers', () => {
  it('201: the event field and the customer field of the identifier', () => {
    expect(identifierCreated(parseIdentifierRequest({ name: 'fs_user_id', display_name: 'FS User ID', merge_confidence: 'high' }))).toEqual({
      events: [{ name: 'event_fs_user_id', display_name: 'Event FS User ID', type: 'identifier' }],
      customers: [{ name: 'fs_user_id', display_name: 'Last Seen FS User ID', type: 'identifier' }],
    });
  });

  it('the list: built-ins without zaius_id, then custom types (a type stored without display name gets one from its name)', () => {
    const listed = listIdentifiers({ identifierTypes: [{ type: 'loyalty_id', confidence: 'low' }], fields: [] });
    expect(listed.map((t) => t.name)).toEqual(['customer_id', 'email', 'phone', 'username', 'vuid', 'loyalty_id']);
    expect(listed.at(-1)).toEqual({ name: 'loyalty_id', display_name: 'Loyalty ID', merge_confidence: 'low', messaging: false });
  });

  it('defaultDisplayName', () => {
    expect(defaultDisplayName('fs_user_id')).toBe('Fs User ID');
    expect(defaultDisplayName('email_address')).toBe('Email Address');
  });
});
