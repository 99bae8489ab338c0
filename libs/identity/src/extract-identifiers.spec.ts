import { extractIdentifiers, preloadKeys } from './extract-identifiers';
import { IdentifierRules } from './identifier-rules';
import { profileIdFor } from './profile-id';

describe('extractIdentifiers', () => {
  const rules = IdentifierRules.defaults();

  describe('given a record with several identifiers in any attribute order', () => {
    it('when extracted, then they are normalised and in priority order, ordinary attributes ignored', () => {
      const result = extractIdentifiers(
        { vuid: 'v1', first_name: 'Jane', phone: '+1 555 010 9999', email: ' Jane@X.io ', customer_id: 7, zaius_id: 'Z-1' },
        rules,
      );
      expect(result).toEqual({
        identifiers: [
          { type: 'zaius_id', value: 'z-1' },
          { type: 'customer_id', value: '7' },
          { type: 'email', value: 'jane@x.io' },
          { type: 'phone', value: '+15550109999' },
          { type: 'vuid', value: 'v1' },
        ],
        invalid: [],
      });
    });
  });

  describe('given blocked and invalid identifier values', () => {
    it('when extracted, then blocked values are dropped silently and invalid ones are reported by field', () => {
      const result = extractIdentifiers({ email: 'guest', vuid: null, phone: '12', customer_id: { a: 1 } }, rules);
      expect(result.identifiers).toEqual([]);
      expect(result.invalid).toEqual([
        { field: 'phone', reason: 'must have at least 7 digits' },
        { field: 'customer_id', reason: 'must be a string of 1-255 characters or an integer' },
      ]);
    });
    it('when only blocked values remain, then there is no identifier (ingest: "needs at least one identifier")', () => {
      expect(extractIdentifiers({ email: 'anonymous', name: 'x' }, rules)).toEqual({ identifiers: [], invalid: [] });
    });
  });

  describe('given custom identifier types', () => {
    it('when extracted, then they follow the default types', () => {
      const custom = rules.withCustomTypes([{ type: 'loyalty_id', confidence: 'high' }]);
      expect(extractIdentifiers({ loyalty_id: ' L1 ', vuid: 'v' }, custom).identifiers).toEqual([
        { type: 'vuid', value: 'v' },
        { type: 'loyalty_id', value: 'L1' },
      ]);
    });
  });
});

describe('preloadKeys', () => {
  const rules = IdentifierRules.defaults();
  describe('given a batch', () => {
    it('when asking what to load, then identifiers are de-duplicated and zaius_ids and own ids are profile ids', () => {
      const keys = preloadKeys(
        [
          { recordId: 'r1', ts: 1, attributes: { email: 'A@x.io', vuid: 'v' } },
          { recordId: 'r2', ts: 2, attributes: { email: 'a@x.io', zaius_id: 'p-1' } },
        ],
        rules,
      );
      expect(keys.identifiers).toEqual([
        { type: 'email', value: 'a@x.io' },
        { type: 'vuid', value: 'v' },
      ]);
      expect(keys.profileIds.sort()).toEqual([profileIdFor('r1'), profileIdFor('r2'), 'p-1'].sort());
    });
  });
});
