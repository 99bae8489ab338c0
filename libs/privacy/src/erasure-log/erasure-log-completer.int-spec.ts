// DESIGN §11: COMPLETED only once the erased person's records are unreadable in the log itself — the
// event store, its DLQ and the dead-letter outbox (Postgres log: rewritten in place). Driven against a
// real PostgreSQL and the real Postgres log; the projector's part (applied_at, erased_identifiers) is
// written as applyErasure leaves it.
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DLQ_HEADER, PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { IdentifierHasher } from '@tessera/store';
import { createProjectionFixture, encodeUpserts, ProjectionFixture, silentLogger } from '@tessera/testing/projection-fixture';
import { ErasureLogCompleter, ErasureLogOptions } from './erasure-log-completer';

let fx: ProjectionFixture;
let hasher: IdentifierHasher;
const PROJECTOR = 'tessera.profile-projector';
const fast: ErasureLogOptions = { settleMs: 0, projectorWaitMs: 200 };

beforeEach(async () => {
  fx = await createProjectionFixture(2);
  hasher = await IdentifierHasher.load(fx.dataSource);
});
afterEach(async () => {
  await fx.close();
});

const completer = (options: ErasureLogOptions = fast) => new ErasureLogCompleter(fx.dataSource, fx.eventLog, fx.tenants, silentLogger, options);

/** What applyErasure leaves: the request row applied, every identifier of the person by keyed hash. */
async function erased(identifiers: Array<[type: string, value: string]>, at: Date, tenant = 'default'): Promise<string> {
  const id = randomUUID();
  const [first] = identifiers;
  await fx.dataSource.query(
    `INSERT INTO erasure_requests (id, tenant, regulation, requester, identifier_type, identifier_hash, record_id, requested_at, applied_at)
     VALUES ($1, $2, 'gdpr', 'dpo@example.org', $3, $4, $5, $6, now())`,
    [id, tenant, first![0], hasher.hash(tenant, first![0], first![1]), randomUUID(), at],
  );
  for (const [type, value] of identifiers) {
    await fx.dataSource.query(`INSERT INTO erased_identifiers (tenant, type, hash, erased_at, request_id) VALUES ($1, $2, $3, $4, $5)`, [
      tenant,
      type,
      hasher.hash(tenant, type, value),
      at,
      id,
    ]);
  }
  return id;
}

/** The projector applied everything in the log (its checkpoint at the end of every partition). */
async function projectorCaughtUp(): Promise<void> {
  for (const end of await fx.eventLog.endOffsets(PROFILE_UPSERTS_TOPIC)) {
    await fx.dataSource.query(
      `INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
       ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET next_offset = excluded.next_offset`,
      [PROJECTOR, PROFILE_UPSERTS_TOPIC, end.partition, end.offset],
    );
  }
}

const envelope = (tenant: string, receivedAt: Date, source: string) => ({
  id: randomUUID(),
  tenant,
  receivedAt: receivedAt.toISOString(),
  ts: receivedAt.toISOString(),
  source,
});

async function logText(): Promise<string> {
  const rows: Array<{ topic: string; key: string; value: Buffer; headers: unknown }> = await fx.dataSource.query(
    `SELECT topic, key, value, headers FROM log_records ORDER BY topic, partition, "offset"`,
  );
  const outbox: Array<{ key: string; value: Buffer; headers: unknown }> = await fx.dataSource.query(`SELECT key, value, headers FROM dead_letter_outbox`);
  return [...rows, ...outbox].map((r) => `${r.key} ${r.value.toString()} ${JSON.stringify(r.headers)}`).join('\n');
}

const status = async (id: string) =>
  (await fx.dataSource.query(`SELECT applied_at IS NOT NULL AS applied, completed_at IS NOT NULL AS completed FROM erasure_requests WHERE id = $1`, [id]))[0];

describe('given a person erased after their records reached the Postgres log', () => {
  it('when a round runs, then their upserts, events, consents, DLQ copies and outbox rows are redacted, others and later records are kept, and the request is COMPLETED', async () => {
    const before = new Date(Date.now() - 60_000);
    // Ada's records: an upsert by email and phone, one that links a vuid (found through erased_identifiers), an event, a consent.
    const upserts = encodeUpserts([
      { email: 'ada@example.com', phone: '+14155550100', first_name: 'Ada' },
      { vuid: '8c1d3b52-1f7e-4b79-9d0a-5c1a2b3c4d5e', last_name: 'Lovelace' },
      { email: 'grace@example.com', first_name: 'Grace' },
    ]);
    const event = { ...envelope('default', before, 'api.v3.events'), type: 'order', action: 'placed', identifiers: { email: 'ADA@example.com ' }, data: { total: 12 } };
    const consent = {
      ...envelope('default', before, 'api.v3.consent'),
      identifierType: 'email',
      identifierValue: 'ada@example.com',
      identifierHash: hasher.hash('default', 'email', 'ada@example.com'),
      consent: false,
      reason: 'opt-out',
      updateTs: before.toISOString(),
    };
    const otherTenant = { ...envelope('acme', before, 'api.v3.events'), type: 'x', action: null, identifiers: { email: 'ada@example.com' }, data: {} };
    const produced = await fx.eventLog.produce(PROFILE_UPSERTS_TOPIC, [
      ...upserts,
      { key: event.id, partitionKey: 'p1', value: JSON.stringify(event), headers: { schema: 'event.v1' } },
      { key: consent.id, partitionKey: 'p2', value: JSON.stringify(consent), headers: { schema: 'consent.v1' } },
      { key: otherTenant.id, partitionKey: 'p3', value: JSON.stringify(otherTenant), headers: { schema: 'event.v1' } },
    ]);
    // A dead-lettered copy of Ada's first upsert (with an error quoting her email) and a malformed one pointing at it.
    await fx.eventLog.produce(PROFILE_UPSERTS_DLQ_TOPIC, [
      {
        ...upserts[0]!,
        headers: { ...upserts[0]!.headers, [DLQ_HEADER.error]: 'bad "ada@example.com"', [DLQ_HEADER.sourceTopic]: PROFILE_UPSERTS_TOPIC, [DLQ_HEADER.sourcePartition]: String(produced[0]!.partition), [DLQ_HEADER.sourceOffset]: String(produced[0]!.offset) },
      },
      {
        key: 'k-malformed',
        value: '{"tenant":"default","attributes":{"email":"ada@example.com" broken',
        headers: { [DLQ_HEADER.sourceTopic]: PROFILE_UPSERTS_TOPIC, [DLQ_HEADER.sourcePartition]: String(produced[1]!.partition), [DLQ_HEADER.sourceOffset]: String(produced[1]!.offset) },
      },
    ]);
    await fx.dataSource.query(`INSERT INTO dead_letter_outbox (topic, key, value, headers) VALUES ($1, $2, $3, '{}')`, [
      PROFILE_UPSERTS_DLQ_TOPIC,
      upserts[1]!.key,
      Buffer.from(upserts[1]!.value),
    ]);
    await fx.dataSource.query(
      `INSERT INTO dead_letters (id, source_topic, source_partition, source_offset, schema, error) VALUES ($1, $2, $3, $4, 'profile-upsert.v1', 'phone 4155550100 is odd')`,
      [randomUUID(), PROFILE_UPSERTS_TOPIC, produced[0]!.partition, produced[0]!.offset],
    );
    const requestId = await erased(
      [
        ['email', 'ada@example.com'],
        ['phone', '+14155550100'],
        ['vuid', '8c1d3b52-1f7e-4b79-9d0a-5c1a2b3c4d5e'],
      ],
      new Date(),
    );
    // Received after the erasure: a new person with the same email.
    const [later] = encodeUpserts([{ email: 'ada@example.com', first_name: 'Ada-the-second' }]);
    const laterValue = JSON.parse(later!.value);
    laterValue.receivedAt = new Date(Date.now() + 60_000).toISOString();
    await fx.eventLog.produce(PROFILE_UPSERTS_TOPIC, [{ ...later!, value: JSON.stringify(laterValue) }]);
    await projectorCaughtUp();

    const round = await completer().runOnce();

    expect(round).toMatchObject({ requests: [requestId], redacted: { log: 4, dlq: 2, outbox: 1 } });
    expect(round!.scanned.log).toBe(produced.length + 1);
    expect(await status(requestId)).toEqual({ applied: true, completed: true });
    const text = await logText();
    for (const value of ['ada@example.com', 'ADA@example.com', '+14155550100', '4155550100', '8c1d3b52-1f7e-4b79-9d0a-5c1a2b3c4d5e', 'Lovelace', '"Ada"']) {
      expect(text.split('\n').filter((line) => line.includes(value) && !line.includes('Ada-the-second') && !line.includes('"acme"'))).toEqual([]);
    }
    expect(text).toContain('Grace');
    expect(text).toContain('Ada-the-second');
    expect(text).toContain('"acme"'); // another tenant's Ada is another person

    // What is left: envelopes; the consent keeps its hash and decision; headers kept, the DLQ error without values.
    const rows: Array<{ value: Buffer; headers: Record<string, string> }> = await fx.dataSource.query(
      `SELECT value, headers FROM log_records WHERE topic = $1 AND convert_from(value, 'UTF8') LIKE '%redacted%' ORDER BY "offset"`,
      [PROFILE_UPSERTS_TOPIC],
    );
    const redacted = rows.map((r) => JSON.parse(r.value.toString()));
    expect(redacted.find((r) => r.id === consent.id)).toEqual({
      id: consent.id,
      tenant: 'default',
      receivedAt: consent.receivedAt,
      ts: consent.ts,
      source: 'api.v3.consent',
      identifierType: 'email',
      identifierHash: consent.identifierHash,
      consent: false,
      reason: 'opt-out',
      updateTs: consent.updateTs,
      redacted: true,
    });
    expect(redacted.find((r) => r.id === event.id)).toEqual({ ...envelope('default', before, 'api.v3.events'), id: event.id, redacted: true });
    expect(rows.map((r) => r.headers.schema).sort()).toEqual(['consent.v1', 'event.v1', 'profile-upsert.v1', 'profile-upsert.v1']);
    const [dlqCopy] = await fx.dataSource.query(`SELECT headers FROM log_records WHERE topic = $1 ORDER BY "offset" LIMIT 1`, [PROFILE_UPSERTS_DLQ_TOPIC]);
    expect(dlqCopy.headers[DLQ_HEADER.error]).toBe('bad "…"');
    const [letter] = await fx.dataSource.query(`SELECT error FROM dead_letters`);
    expect(letter.error).toMatch(/^the record was erased/);

    // A second round has nothing to do.
    expect(await completer().runOnce()).toBeNull();
  });

  it('when the projector has not reached the end of the log, then the request waits (nothing scanned) and completes once it has', async () => {
    const upserts = encodeUpserts([{ email: 'lin@example.com' }]);
    await fx.eventLog.produce(PROFILE_UPSERTS_TOPIC, upserts);
    const requestId = await erased([['email', 'lin@example.com']], new Date());

    expect(await completer().runOnce()).toBeNull();
    expect(await status(requestId)).toEqual({ applied: true, completed: false });
    expect(await logText()).toContain('lin@example.com');

    await projectorCaughtUp();
    expect(await completer().runOnce()).toMatchObject({ requests: [requestId], redacted: { log: 1 } });
    expect(await status(requestId)).toEqual({ applied: true, completed: true });
    expect(await logText()).not.toContain('lin@example.com');
  });

  it('when records were written before keys were record ids (keyed by the identifier, several per key), then each is redacted and keyed by its record id', async () => {
    const legacyKey = 'default:email:legacy@example.com';
    const records = encodeUpserts([{ email: 'legacy@example.com', n: 1 }, { email: 'legacy@example.com', n: 2 }]).map((r) => ({ ...r, key: legacyKey, partition: 0 }));
    await fx.eventLog.produce(PROFILE_UPSERTS_TOPIC, records);
    await projectorCaughtUp();
    const id = await erased([['email', 'legacy@example.com']], new Date());
    expect(await completer().runOnce()).toMatchObject({ requests: [id], redacted: { log: 2 } });
    const rows: Array<{ key: string; value: Buffer }> = await fx.dataSource.query(`SELECT key, value FROM log_records WHERE topic = $1 ORDER BY "offset"`, [
      PROFILE_UPSERTS_TOPIC,
    ]);
    expect(rows.map((r) => r.key)).toEqual(records.map((r) => JSON.parse(r.value).id));
    expect(await logText()).not.toContain('legacy@example.com');
  });

  it('when a request is not applied yet, or younger than the settle time, then it is not taken', async () => {
    await fx.eventLog.produce(PROFILE_UPSERTS_TOPIC, encodeUpserts([{ email: 'mo@example.com' }]));
    await projectorCaughtUp();
    const young = await erased([['email', 'mo@example.com']], new Date());
    expect(await completer({ ...fast, settleMs: 60_000 }).runOnce()).toBeNull();
    await fx.dataSource.query(`UPDATE erasure_requests SET applied_at = NULL WHERE id = $1`, [young]);
    expect(await completer().runOnce()).toBeNull();
    expect(await logText()).toContain('mo@example.com');
  });

  it('when another process holds the completer lock, then a round does nothing; several pending requests share one scan', async () => {
    await fx.eventLog.produce(PROFILE_UPSERTS_TOPIC, encodeUpserts([{ email: 'a1@example.com' }, { email: 'a2@example.com' }, { email: 'a3@example.com' }]));
    await projectorCaughtUp();
    const ids = [await erased([['email', 'a1@example.com']], new Date()), await erased([['email', 'a3@example.com']], new Date())];
    const other = new Client({ connectionString: fx.db.url });
    await other.connect();
    try {
      await other.query(`SELECT pg_advisory_lock(hashtextextended('tessera.erasure-log', 0))`);
      expect(await completer().runOnce()).toBeNull();
      await other.query(`SELECT pg_advisory_unlock(hashtextextended('tessera.erasure-log', 0))`);
    } finally {
      await other.end();
    }
    const round = await completer().runOnce();
    expect(round).toMatchObject({ redacted: { log: 2 }, scanned: { log: 3 } });
    expect(new Set(round!.requests)).toEqual(new Set(ids));
    const text = await logText();
    expect(text).not.toContain('a1@example.com');
    expect(text).not.toContain('a3@example.com');
    expect(text).toContain('a2@example.com');
  });

  it('when started as a background loop, then it completes a request by itself and stop() ends it cleanly', async () => {
    await fx.eventLog.produce(PROFILE_UPSERTS_TOPIC, encodeUpserts([{ email: 'bg@example.com' }]));
    await projectorCaughtUp();
    const id = await erased([['email', 'bg@example.com']], new Date());
    const loop = completer({ ...fast, intervalMs: 50 });
    loop.start();
    try {
      const deadline = Date.now() + 10_000;
      while (!(await status(id)).completed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await loop.stop();
    }
    expect(await status(id)).toEqual({ applied: true, completed: true });
  });
});

describe('scan cost', () => {
  it('reads the Postgres log at a measured rate (records/s, logged)', async () => {
    const total = 20_000;
    for (let i = 0; i < total; i += 1000) {
      await fx.eventLog.produce(
        PROFILE_UPSERTS_TOPIC,
        encodeUpserts(Array.from({ length: 1000 }, (_, j) => ({ email: `p${i + j}@example.com`, phone: `+1415555${String((i + j) % 10000).padStart(4, '0')}`, first_name: 'x' }))),
      );
    }
    await projectorCaughtUp();
    await erased([['email', 'p777@example.com']], new Date());
    const round = await completer().runOnce();
    expect(round).toMatchObject({ redacted: { log: 1 }, scanned: { log: total } });
    // eslint-disable-next-line no-console
    console.log(`erasure scan (postgres log): ${total} records in ${round!.ms} ms = ${round!.recordsPerSecond} records/s`);
    expect(round!.recordsPerSecond).toBeGreaterThan(1000);
  }, 120_000);
});
