import { IdentifierRules } from '@tessera/identity';
import { buildConsentRecords } from '../consents/consent.record';
import { CONSENT_SCHEMA } from '../consents/consents.topic';
import { buildErasureRecords } from '../erasures/erasure.record';
import { ERASURE_SCHEMA } from '../erasures/erasures.topic';
import { buildEventRecords } from '../events/event.record';
import { validateEventBody } from '../events/event.validator';
import { EVENT_SCHEMA } from '../events/events.topic';
import { buildProfileUpsertRecords } from '../profile-upserts/profile-upsert.record';
import { validateProfileUpsertBody } from '../profile-upserts/profile-upsert.validator';
import { PROFILE_UPSERT_SCHEMA } from '../profile-upserts/profile-upserts.topic';
import { PROFILE_CHANGE_SCHEMA } from '../profile-changes/profile-changes.topic';
import { decodeRecord, identifierRefsOf, PROJECTED_SCHEMAS } from './record-kinds';

const rules = IdentifierRules.defaults();
const at = new Date('2026-12-01T10:00:00.000Z');
const hasher = { hash: (tenant: string, type: string, value: string) => `${tenant}${type}${value}`.padEnd(64, '0').replace(/[^0-9a-f]/g, 'a').slice(0, 64) };

function upsert(attributes: Record<string, unknown>) {
  const v = validateProfileUpsertBody({ attributes }, rules, { receivedAt: at });
  if (!v.ok) throw new Error(JSON.stringify(v));
  return buildProfileUpsertRecords('acme', v.items, at, rules)[0];
}

function event(item: Record<string, unknown>) {
  const v = validateEventBody(item, rules, { receivedAt: at });
  if (!v.ok) throw new Error(JSON.stringify(v));
  return buildEventRecords('acme', v.items, at, rules)[0];
}

describe('decodeRecord (the record-kind registry)', () => {
  it('given a record of each kind, when decoded by its schema header, then its kind and fields come back', () => {
    const u = upsert({ email: 'Ann@Example.com', first_name: 'Ann' });
    const e = event({ type: 'order', identifiers: { vuid: 'v-1', email: 'ann@example.com' }, data: { total: 3 } });
    const c = buildConsentRecords('acme', [{ identifierType: 'email', identifierValue: 'ann@example.com', consent: true, reason: null, updateTs: at }], at, hasher)[0];
    const x = buildErasureRecords('acme', 'gdpr', [{ requestId: 'r-1', requester: 'dpo', identifierType: 'email', identifierValue: 'ann@example.com', identifierHash: hasher.hash('acme', 'email', 'ann@example.com'), profileId: null }], at)[0];
    expect(decodeRecord(Buffer.from(u.value), PROFILE_UPSERT_SCHEMA)).toMatchObject({ ok: true, decoded: { kind: 'profile-upsert', record: { attributes: { first_name: 'Ann' } } } });
    expect(decodeRecord(Buffer.from(u.value), undefined)).toMatchObject({ ok: true, decoded: { kind: 'profile-upsert' } }); // before the header existed
    expect(decodeRecord(Buffer.from(e.value), EVENT_SCHEMA)).toMatchObject({ ok: true, decoded: { kind: 'event', record: { type: 'order' } } });
    expect(decodeRecord(Buffer.from(c.value), CONSENT_SCHEMA)).toMatchObject({ ok: true, decoded: { kind: 'consent', record: { consent: true } } });
    expect(decodeRecord(Buffer.from(x.value), ERASURE_SCHEMA)).toMatchObject({ ok: true, decoded: { kind: 'erasure', record: { requestId: 'r-1' } } });
    expect(PROJECTED_SCHEMAS).toEqual([PROFILE_UPSERT_SCHEMA, EVENT_SCHEMA, CONSENT_SCHEMA, ERASURE_SCHEMA, PROFILE_CHANGE_SCHEMA]);
  });

  it('given an erased record, when decoded, then a tombstone or a redacted upsert applies nothing, while a redacted consent keeps its hash', () => {
    expect(decodeRecord(Buffer.alloc(0), PROFILE_UPSERT_SCHEMA)).toEqual({ ok: true, decoded: { kind: 'tombstone' } });
    expect(decodeRecord(null, undefined)).toEqual({ ok: true, decoded: { kind: 'tombstone' } });
    const envelope = { id: '01930000-0000-7000-8000-000000000001', tenant: 'acme', receivedAt: at.toISOString(), ts: at.toISOString(), source: 'api.v3.profiles' };
    expect(decodeRecord(Buffer.from(JSON.stringify({ ...envelope, redacted: true })), PROFILE_UPSERT_SCHEMA)).toMatchObject({ ok: true, decoded: { kind: 'redacted' } });
    const consent = { ...envelope, source: 'api.v3.consent', identifierType: 'email', identifierHash: 'a'.repeat(64), consent: false, reason: null, updateTs: at.toISOString(), redacted: true };
    expect(decodeRecord(Buffer.from(JSON.stringify(consent)), CONSENT_SCHEMA)).toMatchObject({ ok: true, decoded: { kind: 'consent', record: { identifierValue: null, consent: false } } });
  });

  it('given a value that mentions "redacted" but is an ordinary upsert, then it is decoded as the upsert', () => {
    const u = upsert({ email: 'r@example.com', note: '"redacted"' });
    expect(decodeRecord(Buffer.from(u.value), PROFILE_UPSERT_SCHEMA)).toMatchObject({ ok: true, decoded: { kind: 'profile-upsert' } });
  });

  it('given an unknown schema or a broken value, then the error says so (the DLQ keeps it)', () => {
    expect(decodeRecord(Buffer.from('{}'), 'profile-upsert.v9')).toEqual({ ok: false, error: 'record kind "profile-upsert.v9" is not known to this version' });
    expect(decodeRecord(Buffer.from('{"id":1}'), EVENT_SCHEMA)).toMatchObject({ ok: false, error: expect.stringContaining('`id`') });
  });
});

describe('identifierRefsOf', () => {
  it('given each kind, then the normalised identifiers it names (what the erasure cut-off and the redaction look for)', () => {
    const refs = (value: string, schema: string) => {
      const d = decodeRecord(Buffer.from(value), schema);
      if (!d.ok) throw new Error(d.error);
      return identifierRefsOf(d.decoded, rules);
    };
    expect(refs(upsert({ email: ' Ann@Example.com ', vuid: 'v-1', city: 'Oslo' }).value, PROFILE_UPSERT_SCHEMA)).toEqual([
      { type: 'email', value: 'ann@example.com' },
      { type: 'vuid', value: 'v-1' },
    ]);
    expect(refs(event({ type: 'visit', identifiers: { vuid: 'v-2' } }).value, EVENT_SCHEMA)).toEqual([{ type: 'vuid', value: 'v-2' }]);
  });
});
