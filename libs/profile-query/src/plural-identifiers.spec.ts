import { lookUpAttributes } from './plural-identifiers';

const TYPES = ['zaius_id', 'customer_id', 'email', 'phone', 'vuid', 'fs_user_id'];

describe('lookUpAttributes (plural identifiers, DESIGN §10)', () => {
  it('when a profile has values of several types, then each plural lists them as given and the singular holds the first (last seen)', () => {
    const out = lookUpAttributes(
      { first_name: 'Ann', email: 'old@example.com' },
      { email: ['new@example.com', 'old@example.com'], fs_user_id: ['fs-1'] },
      TYPES,
      'p-1',
    );
    expect(out).toEqual({
      first_name: 'Ann',
      email: 'new@example.com',
      emails: ['new@example.com', 'old@example.com'],
      fs_user_id: 'fs-1',
      fs_user_ids: ['fs-1'],
      zaius_id: 'p-1',
    });
  });

  it('when a type has no value, then its plural is absent, even if an old record stored an attribute under that name', () => {
    const out = lookUpAttributes({ vuids: 'stale', phones: ['x'] }, { email: ['a@b.co'] }, TYPES, 'p-2');
    expect(out).not.toHaveProperty('vuids');
    expect(out).not.toHaveProperty('phones');
    expect(out).not.toHaveProperty('customer_ids');
    expect(out).not.toHaveProperty('zaius_ids');
  });

  it('then the profile id is the zaius_id whatever the attributes hold', () => {
    expect(lookUpAttributes({ zaius_id: 'x' }, {}, TYPES, 'p-3').zaius_id).toBe('p-3');
  });

  it('then the stored attributes are not changed', () => {
    const stored = { email: 'old@example.com' };
    lookUpAttributes(stored, { email: ['new@example.com'] }, TYPES, 'p-4');
    expect(stored).toEqual({ email: 'old@example.com' });
  });
});
