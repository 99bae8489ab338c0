import { IdentifierRules } from '@tessera/identity';
import { isUuidV7 } from '../ids/uuid-v7';
import { buildErasureRecords, erasurePartitionKey, parseErasureRecord } from './erasure.record';
import { validateErasureRequestBody } from './erasure-request.validator';
import { ERASURE_SCHEMA } from './erasures.topic';

const HASH = 'a'.repeat(64);
const item = {
  requestId: '0190c0de-0000-7000-8000-000000000001',
  requester: 'dpo@tenant.example',
  identifierType: 'email',
  identifierValue: 'ann@example.com',
  identifierHash: HASH,
  profileId: null,
};

describe('buildErasureRecords', () => {
  it('keys each record by its id, partitions by the identifier and never stores the value', () => {
    const [r] = buildErasureRecords('acme', 'gdpr', [item], new Date('2026-12-02T20:00:00.000Z'));
    const value = JSON.parse(r.value);
    expect(r.key).toBe(value.id);
    expect(isUuidV7(value.id)).toBe(true);
    expect(r.partitionKey).toBe('acme:email:ann@example.com');
    expect(r.partitionKey).toBe(erasurePartitionKey('acme', 'email', 'ann@example.com'));
    expect(r.headers).toEqual({ 'content-type': 'application/json', schema: ERASURE_SCHEMA });
    expect(r.value).not.toContain('ann@example.com');
    expect(value).toEqual({
      id: value.id,
      tenant: 'acme',
      receivedAt: '2026-12-02T20:00:00.000Z',
      ts: '2026-12-02T20:00:00.000Z',
      source: 'api.v3.compliance',
      requestId: item.requestId,
      regulation: 'gdpr',
      requester: 'dpo@tenant.example',
      identifierType: 'email',
      identifierHash: HASH,
      profileId: null,
    });
  });

  it('round-trips through the parser', () => {
    const records = buildErasureRecords('acme', 'lgpd', [item, { ...item, profileId: '6f1c1f0e-1b1a-5c1d-9e1f-0a0b0c0d0e0f' }], new Date());
    for (const r of records) {
      const parsed = parseErasureRecord(Buffer.from(r.value));
      expect(parsed).toEqual({ ok: true, record: JSON.parse(r.value) });
    }
  });

  it('refuses an unknown regulation and an empty tenant (programming errors)', () => {
    expect(() => buildErasureRecords('acme', 'hipaa' as never, [item], new Date())).toThrow(/regulation/);
    expect(() => buildErasureRecords('', 'gdpr', [item], new Date())).toThrow(/tenant/);
  });
});

describe('parseErasureRecord', () => {
  const good = () => JSON.parse(buildErasureRecords('acme', 'ccpa', [item], new Date())[0].value);
  it.each([
    ['id', 'not-a-uuid', '`id`'],
    ['tenant', '', '`tenant`'],
    ['receivedAt', '2026-12-02', '`receivedAt`'],
    ['regulation', 'hipaa', '`regulation`'],
    ['requester', '', '`requester`'],
    ['identifierType', 'Email', '`identifierType`'],
    ['identifierHash', 'ann@example.com', '`identifierHash`'],
    ['profileId', 'p-1', '`profileId`'],
    ['requestId', undefined, '`requestId`'],
  ])('refuses a bad %s, naming the field', (field, value, named) => {
    const parsed = parseErasureRecord(JSON.stringify({ ...good(), [field]: value }));
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.error).toContain(named);
  });

  it('refuses values that are not a JSON object', () => {
    expect(parseErasureRecord('[]')).toMatchObject({ ok: false });
    expect(parseErasureRecord('{')).toMatchObject({ ok: false });
    expect(parseErasureRecord(Buffer.from([0xff, 0xfe]))).toEqual({ ok: false, error: 'record value is not valid UTF-8' });
  });
});

describe('validateErasureRequestBody', () => {
  const rules = IdentifierRules.defaults().withCustomTypes([{ type: 'fs_user_id', confidence: 'high' }]);

  it('normalises identifiers as on ingest and accepts a single object', () => {
    expect(validateErasureRequestBody({ requester: 'dpo', identifier_field_name: 'email', identifier_value: ' Ann@Example.COM ' }, rules)).toEqual({
      ok: true,
      items: [{ requester: 'dpo', identifierType: 'email', identifierValue: 'ann@example.com' }],
    });
    const phone = validateErasureRequestBody([{ requester: 'dpo', identifier_field_name: 'phone', identifier_value: '555-867-5309' }], rules);
    expect(phone).toMatchObject({ ok: true, items: [{ identifierValue: '+15558675309' }] });
    const custom = validateErasureRequestBody([{ requester: 'dpo', identifier_field_name: 'fs_user_id', identifier_value: 'fs-1' }], rules);
    expect(custom).toMatchObject({ ok: true, items: [{ identifierType: 'fs_user_id', identifierValue: 'fs-1' }] });
  });

  it('lists every invalid item with its index and the field', () => {
    const result = validateErasureRequestBody(
      [
        { requester: 'dpo', identifier_field_name: 'email', identifier_value: 'ann@example.com' },
        { identifier_field_name: 'email', identifier_value: 'bob@example.com' },
        { requester: 'dpo', identifier_field_name: 'shoe_size', identifier_value: '42' },
        { requester: 'dpo', identifier_field_name: 'email', identifier_value: 'not-an-email' },
        { requester: 'dpo', identifier_field_name: 'vuid', identifier_value: 'anonymous' },
        { requester: 'dpo', identifier_field_name: 'email' },
        'nope',
      ],
      rules,
    );
    expect(result.ok).toBe(false);
    const invalids = (result as { invalids: Array<{ event: number; message: string }> }).invalids;
    expect(invalids.map((i) => i.event)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(invalids[0].message).toContain('`requester` is required');
    expect(invalids[1].message).toMatch(/`identifier_field_name` "shoe_size" is not an identifier type/);
    expect(invalids[2].message).toMatch(/`identifier_value` must look like an email address/);
    expect(invalids[3].message).toMatch(/`identifier_value` is not an identifier value/);
    expect(invalids[4].message).toContain('`identifier_value` is required');
    expect(invalids[5].message).toContain('item must be an object');
  });

  it('refuses bodies that are not 1-100 requests', () => {
    expect(validateErasureRequestBody([], rules)).toMatchObject({ ok: false, bodyError: expect.stringContaining('at least one') });
    expect(validateErasureRequestBody('x', rules)).toMatchObject({ ok: false, bodyError: expect.any(String) });
    const many = Array.from({ length: 101 }, () => ({ requester: 'dpo', identifier_field_name: 'vuid', identifier_value: 'v' }));
    expect(validateErasureRequestBody(many, rules)).toMatchObject({ ok: false, bodyError: expect.stringContaining('at most 100') });
  });
});
