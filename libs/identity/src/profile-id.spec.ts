import { profileIdFor, TESSERA_PROFILE_NAMESPACE, uuidV5 } from './profile-id';

describe('profileIdFor', () => {
  describe('given the RFC 9562 / RFC 4122 test vector', () => {
    it('when hashing "www.example.com" in the DNS namespace, then the v5 UUID matches', () => {
      expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    });
  });

  describe('given a record id', () => {
    it('when deriving its profile id twice, then it is the same version-5 UUID in the Tessera namespace', () => {
      const id = profileIdFor('0190d5c4-7b1e-7000-8000-000000000001');
      expect(id).toBe(profileIdFor('0190d5c4-7b1e-7000-8000-000000000001'));
      expect(id).toBe(uuidV5('0190d5c4-7b1e-7000-8000-000000000001', TESSERA_PROFILE_NAMESPACE));
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });
    it('when record ids differ, then profile ids differ', () => {
      expect(profileIdFor('r1')).not.toBe(profileIdFor('r2'));
    });
  });

  describe('given a malformed namespace', () => {
    it('when deriving, then it throws', () => {
      expect(() => uuidV5('x', 'not-a-uuid')).toThrow();
    });
  });
});
