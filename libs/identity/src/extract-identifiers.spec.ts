import { phoneReason } from './phone-number';
import { extractIdentifiers, preloadKeys } from './extract-identifiers';
import { IdentifierRules } from './identifier-rules';
import { profileIdFor } from './profile-id';

describe('extractIdentifiers', () => {
  const rules = IdentifierRules.defaults();

  describe('given a record with several identifiers in any attribute order', () => {
    it('when extracted, then they are normalised and in priority order, ordinary attributes ignored', () => {
      const result = extractIdentifiers(
        { vuid: 'v1', first_name: 'Jane', phone: '+1 555 010 9999', email: ' Jane@X.io ', customer_id: 7, zaius_id: ' 0F8FAD5B-D9CB-469F-A165-70867728950E ' },
        rules,
      );
      expect(result).toEqual({
        identifiers: [
          { type: 'zaius_id', value: '0f8fad5b-d9cb-469f-a165-70867728950e' },
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
        { field: 'phone', reason: phoneReason('US') },
        { field: 'customer_id', reason: 'must be a string of 1-255 characters or an integer' },
      ]);
    });
    it('when a zaius_id is not a UUID, then it is reported as invalid (it could name no profile)', () => {
      for (const value of ['test', 'Z-1', '0F8FAD5B-D9CB-469F-A165-70867728950', '{0f8fad5b-d9cb-469f-a165-70867728950e}', 'zaius-0190d5c4']) {
        expect(extractIdentifiers({ zaius_id: value, email: 'a@x.io' }, rules)).toEqual({
          identifiers: [{ type: 'email', value: 'a@x.io' }],
          invalid: [{ field: 'zaius_id', reason: 'must be a UUID' }],
        });
      }
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
    it('when asking what to load, then identifiers are de-duplicated, UUID zaius_ids and own ids are profile ids, other zaius_ids nothing', () => {
      const P1 = '0190d5c4-7b1e-7000-8000-0000000000a1';
      const keys = preloadKeys(
        [
          { recordId: 'r1', ts: 1, attributes: { email: 'A@x.io', vuid: 'v' } },
          { recordId: 'r2', ts: 2, attributes: { email: 'a@x.io', zaius_id: P1 } },
          { recordId: 'r3', ts: 3, attributes: { email: 'a@x.io', zaius_id: 'test' } },
        ],
        rules,
      );
      expect(keys.identifiers).toEqual([
        { type: 'email', value: 'a@x.io' },
        { type: 'vuid', value: 'v' },
      ]);
      expect(keys.profileIds.sort()).toEqual([profileIdFor('r1'), profileIdFor('r2'), profileIdFor('r3'), P1].sort());
    });
  });
});
