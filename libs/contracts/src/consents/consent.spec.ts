import { IdentifierRules } from '@tessera/identity';
import { buildConsentRecords, parseConsentRecord } from './consent.record';
import { validateConsentBody } from './consent.validator';
import { CONSENT_SCHEMA } from './consents.topic';

const rules = IdentifierRules.defaults().withCustomTypes([{ type: 'fs_user_id', confidence: 'high' }]);
const receivedAt = new Date('2026-03-01T12:00:00.000Z');
const hasher = { hash: (tenant: string, type: string, value: string) => `${tenant}|${type}|${value}`.padEnd(64, '0').replace(/[^0-9a-f]/g, 'a').slice(0, 64) };

describe('validateConsentBody', () => {
  it('accepts one object or an array; normalises the value as ingest does; ts in §3 formats, default receivedAt', () => {
    const r = validateConsentBody(
      [
        { identifier_field_name: 'email', identifier_value: ' Ann@Example.COM ', consent: true, consent_update_reason: 'signup', consent_update_ts: 1767225600 },
        { identifier_field_name: 'fs_user_id', identifier_value: 'u-1', consent: false, event_data: { page: 'x' } },
        { identifier_field_name: 'email', identifier_value: 'b@example.com', consent: false, consent_update_ts: '2026-01-01T00:00:00+01:00' },
      ],
      rules,
      { receivedAt },
    );
    expect(r).toEqual({
      ok: true,
      items: [
        { identifierType: 'email', identifierValue: 'ann@example.com', consent: true, reason: 'signup', updateTs: new Date('2026-01-01T00:00:00.000Z') },
        { identifierType: 'fs_user_id', identifierValue: 'u-1', consent: false, reason: null, updateTs: receivedAt },
        { identifierType: 'email', identifierValue: 'b@example.com', consent: false, reason: null, updateTs: new Date('2025-12-31T23:00:00.000Z') },
      ],
    });
    expect(validateConsentBody({ identifier_field_name: 'email', identifier_value: 'a@example.com', consent: true }, rules, { receivedAt })).toMatchObject({ ok: true, items: [{ identifierValue: 'a@example.com' }] });
  });

  it.each([
    [{ identifier_field_name: 'fax', identifier_value: 'x', consent: true }, '`identifier_field_name` "fax" is not an identifier type'],
    [{ identifier_value: 'x', consent: true }, '`identifier_field_name` is required'],
    [{ identifier_field_name: 'email', consent: true }, '`identifier_value` is required'],
    [{ identifier_field_name: 'email', identifier_value: 'not-an-email', consent: true }, '`identifier_value` must look like an email address'],
    [{ identifier_field_name: 'email', identifier_value: 'null', consent: true }, '`identifier_value` is not a usable email'],
    [{ identifier_field_name: 'email', identifier_value: 'a@example.com' }, '`consent` is required: true or false'],
    [{ identifier_field_name: 'email', identifier_value: 'a@example.com', consent: 'yes' }, '`consent` is required: true or false'],
    [{ identifier_field_name: 'email', identifier_value: 'a@example.com', consent: true, consent_update_reason: 'x'.repeat(1025) }, '`consent_update_reason` must be a string of at most 1024'],
    [{ identifier_field_name: 'email', identifier_value: 'a@example.com', consent: true, consent_update_reason: 7 }, '`consent_update_reason` must be a string'],
    [{ identifier_field_name: 'email', identifier_value: 'a@example.com', consent: true, consent_update_ts: 'yesterday' }, '`consent_update_ts` must be epoch seconds'],
    [{ identifier_field_name: 'email', identifier_value: 'a@example.com', consent: true, consent_update_ts: 1900000000 }, '`consent_update_ts` is more than 1 hour after'],
    [{ identifier_field_name: 'email', identifier_value: 'a@example.com', consent: true, consnet: true }, '`consnet` is not a field of a consent item'],
    ['text', 'item must be an object'],
  ])('refuses bad item %# naming the field', (item, message) => {
    const r = validateConsentBody([{ identifier_field_name: 'email', identifier_value: 'ok@example.com', consent: true }, item], rules, { receivedAt });
    expect(r).toEqual({ ok: false, invalids: [{ event: 1, message: expect.stringContaining(message) }] });
  });

  it('refuses bodies that are not 1-100 objects', () => {
    expect(validateConsentBody([], rules, { receivedAt })).toMatchObject({ ok: false, bodyError: expect.stringContaining('empty') });
    expect(validateConsentBody(new Array(101).fill({}), rules, { receivedAt })).toMatchObject({ ok: false, bodyError: expect.stringContaining('limit 100') });
    expect(validateConsentBody('x', rules, { receivedAt })).toMatchObject({ ok: false, bodyError: expect.any(String) });
  });
});

describe('consent.v1 records', () => {
  const [item] = (validateConsentBody({ identifier_field_name: 'email', identifier_value: 'Ann@example.com', consent: false, consent_update_ts: 1767225600 }, rules, { receivedAt }) as { ok: true; items: never[] }).items;

  it('are keyed by record id, partitioned by the identifier, and parse back to the same record', () => {
    const [built] = buildConsentRecords('acme', [item], receivedAt, hasher);
    const value = JSON.parse(built.value);
    expect(built).toMatchObject({ key: value.id, partitionKey: 'acme:email:ann@example.com', headers: { 'content-type': 'application/json', schema: CONSENT_SCHEMA } });
    expect(value).toEqual({
      id: expect.any(String),
      tenant: 'acme',
      receivedAt: '2026-03-01T12:00:00.000Z',
      ts: '2026-01-01T00:00:00.000Z',
      source: 'api.v3.consent',
      identifierType: 'email',
      identifierValue: 'ann@example.com',
      identifierHash: hasher.hash('acme', 'email', 'ann@example.com'),
      consent: false,
      reason: null,
      updateTs: '2026-01-01T00:00:00.000Z',
    });
    expect(parseConsentRecord(Buffer.from(built.value))).toEqual({ ok: true, record: value });
  });

  it('parse a redacted record (no value) and refuse broken ones naming the field', () => {
    const [built] = buildConsentRecords('acme', [item], receivedAt, hasher);
    const { identifierValue: _gone, ...rest } = JSON.parse(built.value);
    expect(parseConsentRecord(JSON.stringify({ ...rest, redacted: true }))).toMatchObject({ ok: true, record: { identifierValue: null, redacted: true, consent: false } });
    expect(parseConsentRecord(JSON.stringify(rest))).toEqual({ ok: false, error: expect.stringContaining('`identifierValue`') });
    expect(parseConsentRecord(JSON.stringify({ ...rest, identifierValue: 'a', consent: 'no' }))).toEqual({ ok: false, error: expect.stringContaining('`consent`') });
    expect(parseConsentRecord(JSON.stringify({ ...rest, identifierValue: 'a', identifierHash: 'xyz' }))).toEqual({ ok: false, error: expect.stringContaining('`identifierHash`') });
    expect(parseConsentRecord('{')).toEqual({ ok: false, error: expect.stringContaining('JSON') });
  });
});
