// applyConsents (DESIGN §11): per identifier the latest consent_update_ts wins whatever the order the
// records are applied in (ties: the larger record id); hashOnly keeps the consent by its hash only.
import type { ConsentRecord } from '@tessera/contracts';
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '@tessera/testing/database';
import { createDataSource, runMigrationsLocked } from '../database/database';
import { IdentifierHasher } from '../erasures/identifier-hasher';
import { applyConsents, findConsent } from './consents.repository';

let db: TestDatabase;
let dataSource: DataSource;
let hasher: IdentifierHasher;

beforeAll(async () => {
  db = await createTestDatabase('consents');
  dataSource = createDataSource(db.url, 2);
  await dataSource.initialize();
  await runMigrationsLocked(dataSource);
  hasher = await IdentifierHasher.load(dataSource);
});

afterAll(async () => {
  await dataSource?.destroy();
  await db?.drop();
});

let seq = 0;
/** Record ids in creation order (as UUID v7 are); `n` picks an explicit order for ties. */
function id(n = ++seq): string {
  return `0190a000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;
}

function consent(tenant: string, value: string, given: boolean, updateTs: string, extra: Partial<ConsentRecord & { hashOnly: boolean }> = {}): ConsentRecord & { hashOnly: boolean } {
  return {
    id: id(),
    tenant,
    receivedAt: '2026-03-01T00:00:00.000Z',
    ts: updateTs,
    source: 'api.v3.consent',
    identifierType: 'email',
    identifierValue: value,
    identifierHash: hasher.hash(tenant, 'email', value),
    consent: given,
    reason: `given=${given} at ${updateTs}`,
    updateTs,
    hashOnly: false,
    ...extra,
  };
}

async function rows(tenant: string) {
  return dataSource.query(
    `SELECT type, value_hash, value, consent, reason, to_char(update_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS update_ts, record_id FROM consents WHERE tenant = $1 ORDER BY type, value_hash`,
    [tenant],
  );
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe('given several consents of one identifier', () => {
  it('when they are applied one by one in every order, or all in one call, then the latest update_ts wins every time', async () => {
    const history = [
      consent('t', 'ann@example.com', true, '2026-01-01T00:00:00.000Z'),
      consent('t', 'ann@example.com', false, '2026-01-03T00:00:00.000Z'), // the latest
      consent('t', 'ann@example.com', true, '2026-01-02T00:00:00.000Z'),
      consent('t', 'ann@example.com', true, '2025-12-31T00:00:00.000Z'),
    ];
    const outcomes = new Set<string>();
    let run = 0;
    for (const order of permutations(history)) {
      const tenant = `perm${run++}`;
      for (const record of order) await dataSource.transaction((m) => applyConsents(m, [{ ...record, tenant }]));
      outcomes.add(JSON.stringify((await rows(tenant)).map((r: Record<string, unknown>) => ({ ...r, value_hash: undefined }))));
    }
    await dataSource.transaction((m) => applyConsents(m, history.map((r) => ({ ...r, tenant: 'batch' }))));
    outcomes.add(JSON.stringify((await rows('batch')).map((r: Record<string, unknown>) => ({ ...r, value_hash: undefined }))));
    expect([...outcomes]).toHaveLength(1);
    const [row] = await rows('batch');
    expect(row).toEqual({
      type: 'email',
      value_hash: hasher.hash('t', 'email', 'ann@example.com'),
      value: 'ann@example.com',
      consent: false,
      reason: 'given=false at 2026-01-03T00:00:00.000Z',
      update_ts: '2026-01-03T00:00:00.000Z',
      record_id: history[1].id,
    });
  });

  it('when two share the update_ts, then the larger record id wins in either order, and re-applying a record changes nothing', async () => {
    const first = consent('tie-a', 'bob@example.com', true, '2026-02-01T00:00:00.000Z', { id: id(1000) });
    const second = consent('tie-a', 'bob@example.com', false, '2026-02-01T00:00:00.000Z', { id: id(1001) });
    await dataSource.transaction((m) => applyConsents(m, [second]));
    await dataSource.transaction((m) => applyConsents(m, [first]));
    await dataSource.transaction((m) => applyConsents(m, [{ ...first, tenant: 'tie-b' }]));
    await dataSource.transaction((m) => applyConsents(m, [{ ...second, tenant: 'tie-b' }]));
    await dataSource.transaction((m) => applyConsents(m, [{ ...second, tenant: 'tie-b' }]));
    for (const tenant of ['tie-a', 'tie-b']) expect((await rows(tenant))[0]).toMatchObject({ consent: false, record_id: second.id });
  });

  it('when an older consent arrives after a newer one, then nothing changes', async () => {
    await dataSource.transaction((m) => applyConsents(m, [consent('late', 'cy@example.com', false, '2026-02-02T00:00:00.000Z')]));
    await dataSource.transaction((m) => applyConsents(m, [consent('late', 'cy@example.com', true, '2026-02-01T00:00:00.000Z')]));
    expect((await rows('late'))[0]).toMatchObject({ consent: false, update_ts: '2026-02-02T00:00:00.000Z' });
  });
});

describe('given hashOnly consents (an erased identifier)', () => {
  it('when one wins, then the value is stored as NULL while hash, consent, reason and time are kept', async () => {
    await dataSource.transaction((m) => applyConsents(m, [consent('erased', 'dee@example.com', true, '2026-01-01T00:00:00.000Z')]));
    expect((await rows('erased'))[0].value).toBe('dee@example.com');
    await dataSource.transaction((m) => applyConsents(m, [consent('erased', 'dee@example.com', false, '2026-01-02T00:00:00.000Z', { hashOnly: true })]));
    expect((await rows('erased'))[0]).toMatchObject({ value: null, consent: false, value_hash: hasher.hash('erased', 'email', 'dee@example.com'), update_ts: '2026-01-02T00:00:00.000Z' });
    const found = await findConsent(dataSource, 'erased', 'email', hasher.hash('erased', 'email', 'dee@example.com'));
    expect(found).toEqual({ consent: false, reason: 'given=false at 2026-01-02T00:00:00.000Z', updateTs: new Date('2026-01-02T00:00:00.000Z') });
  });

  it('when a redacted record (no value) is applied, then the value is NULL too', async () => {
    const record = consent('redacted', 'eve@example.com', false, '2026-01-01T00:00:00.000Z');
    await dataSource.transaction((m) => applyConsents(m, [{ ...record, identifierValue: null, redacted: true }]));
    expect((await rows('redacted'))[0]).toMatchObject({ value: null, consent: false });
  });
});

describe('given consents of different identifiers and tenants in one call', () => {
  it('then each identifier of each tenant has its own row', async () => {
    await dataSource.transaction((m) =>
      applyConsents(m, [
        consent('multi-a', 'x@example.com', true, '2026-01-01T00:00:00.000Z'),
        consent('multi-a', 'y@example.com', false, '2026-01-01T00:00:00.000Z'),
        consent('multi-b', 'x@example.com', false, '2026-01-01T00:00:00.000Z'),
        { ...consent('multi-a', 'x@example.com', false, '2026-01-01T00:00:00.000Z'), identifierType: 'vuid', identifierHash: hasher.hash('multi-a', 'vuid', 'x@example.com') },
      ]),
    );
    expect((await rows('multi-a')).map((r: { type: string; value: string; consent: boolean }) => [r.type, r.value, r.consent]).sort()).toEqual([
      ['email', 'x@example.com', true],
      ['email', 'y@example.com', false],
      ['vuid', 'x@example.com', false],
    ]);
    expect((await rows('multi-b')).map((r: { consent: boolean }) => r.consent)).toEqual([false]);
    expect(await findConsent(dataSource, 'multi-b', 'email', hasher.hash('multi-b', 'email', 'nobody@example.com'))).toBeNull();
  });

  it('when called with nothing, then it does nothing', async () => {
    await dataSource.transaction((m) => applyConsents(m, []));
  });
});
