import { errorWithoutValues, isDeadLetterState } from './dead-letter-error';

describe('errorWithoutValues', () => {
  it('cuts out the input JSON.parse quotes', () => {
    let message = '';
    try {
      JSON.parse('{"email":"jane@example.com" x');
    } catch (e) {
      message = `record value is not valid JSON: ${(e as Error).message}`;
    }
    expect(errorWithoutValues('invalid input syntax for type json: "{"email": "jane@example.com"}"')).not.toContain('jane');
    expect(errorWithoutValues(message)).not.toContain('jane');
    expect(errorWithoutValues(`Unexpected token 'x', "{"email":"jane@example.com" x" is not valid JSON`)).not.toContain('jane');
  });

  it('keeps attribute names in backticks and bounds the length', () => {
    expect(errorWithoutValues('`attributes.email` must be a string')).toBe('`attributes.email` must be a string');
    expect(errorWithoutValues('x'.repeat(2000))).toHaveLength(1000);
  });

  it('knows the four states', () => {
    expect(['new', 'retried', 'resolved', 'discarded'].every(isDeadLetterState)).toBe(true);
    expect(isDeadLetterState('gone')).toBe(false);
  });
});
