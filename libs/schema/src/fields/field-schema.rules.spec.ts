import type { CustomerSchemaState } from '@tessera/store';
import { SchemaRequestError } from '../schema-request.error';
import { decideField, parseFieldRequest } from './field-schema.rules';

function refusal(fn: () => unknown): SchemaRequestError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SchemaRequestError) return error;
    throw error;
  }
  throw new Error('expected a SchemaRequestError');
}

describe('parseFieldRequest', () => {
  it('echoes a valid field; description defaults to null', () => {
    expect(parseFieldRequest({ name: 'age', type: 'number', display_name: 'Age' })).toEqual({ name: 'age', type: 'number', display_name: 'Age', description: null });
  });

  it('names every bad field at once', () => {
    const error = refusal(() => parseFieldRequest({ name: '__proto__', type: 'int', display_name: '', description: [], extra: 1 }));
    expect(error.status).toBe(400);
    expect(error.invalids!.map((i) => i.field)).toEqual(['extra', 'name', 'type', 'display_name', 'description']);
  });

  it('a body that is not an object is a message, not invalids', () => {
    expect(refusal(() => parseFieldRequest([])).invalids).toBeUndefined();
  });
});

describe('decideField', () => {
  const state: CustomerSchemaState = {
    identifierTypes: [{ type: 'fs_user_id', confidence: 'high' }],
    fields: [{ name: 'age', type: 'number', displayName: 'Age', description: null }],
  };
  it.each(['age', 'email', 'emails', 'vuids', 'zaius_id', 'fs_user_id', 'fs_user_ids', 'ts'])('refuses %s as in use', (name) => {
    expect(refusal(() => decideField(state, parseFieldRequest({ name, type: 'string', display_name: 'X' }))).invalids).toEqual([
      { field: 'name', reason: 'already used by another object' },
    ]);
  });

  it('accepts a free name', () => {
    expect(decideField(state, parseFieldRequest({ name: 'height', type: 'number', display_name: 'Height', description: 'cm' }))).toEqual({
      name: 'height',
      type: 'number',
      displayName: 'Height',
      description: 'cm',
    });
  });
});
