// DESIGN §12: native writes go on the log as ONE profile-change record and answer once the projector
// applied it (read-your-writes), with the outcome it decided; out of time → pending; erase is §11's.
import type { ModuleRef } from '@nestjs/core';
import { PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { ConsumerHandle } from '@tessera/event-log';
import { profileIdFor } from '@tessera/identity';
import { ComplianceService } from '@tessera/privacy';
import { ProfileIngestService } from '@tessera/profile-ingest';
import { ProfileProjector } from '@tessera/profile-projection';
import { TenantRateLimiter, TesseraLogger } from '@tessera/runtime';
import { createProjectionFixture, ProjectionFixture, silentLogger } from '@tessera/testing/projection-fixture';
import { PROJECTOR_GROUP, ProfileWritesService } from './profile-writes.service';

const logger = { warn: () => undefined, info: () => undefined, error: () => undefined, debug: () => undefined } as unknown as TesseraLogger;
let fx: ProjectionFixture;
let projector: ProfileProjector;
let consumer: ConsumerHandle | undefined;

beforeAll(async () => {
  fx = await createProjectionFixture(4);
  projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
});
afterAll(async () => {
  await consumer?.stop();
  await fx.close();
});

async function startProjector(): Promise<void> {
  consumer ??= await fx.eventLog.consume({
    groupId: projector.consumerGroup,
    topics: [PROFILE_UPSERTS_TOPIC],
    resolveStartOffset: (topic, partition) => projector.startOffset(topic, partition),
    handleBatch: (batch) => projector.handleBatch(batch),
  });
}

function compliance(): ComplianceService {
  const limiter = new TenantRateLimiter(fx.tenants, { itemsPerSecond: 1000, burst: 1000 });
  const ingest = new ProfileIngestService(fx.eventLog, fx.tenants, logger, 2000, limiter);
  const service = new ComplianceService(fx.dataSource, fx.tenants, { get: () => ingest } as unknown as ModuleRef, logger);
  service.onModuleInit();
  return service;
}

function writes(syncWriteTimeoutMs = 10_000): ProfileWritesService {
  const c = compliance();
  return new ProfileWritesService(fx.dataSource, fx.eventLog, fx.tenants, { syncWriteTimeoutMs, produceTimeoutMs: 5_000 }, undefined, (tenant, body) =>
    c.requestErasure(tenant, 'gdpr', body),
  );
}

async function logSize(): Promise<number> {
  return (await fx.eventLog.endOffsets(PROFILE_UPSERTS_TOPIC)).reduce((n, p) => n + p.offset, 0);
}

describe('ProfileWritesService', () => {
  it('uses the projector group the worker checkpoints under', () => {
    expect(PROJECTOR_GROUP).toBe(projector.consumerGroup);
  });

  describe('given a running projector', () => {
    beforeAll(startProjector);

    it('when a profile is created, then the answer is applied with its id, and the projection already holds it (read-your-writes)', async () => {
      const result = await writes().submit({ op: 'create', tenant: 'default', attributes: { email: 'Ann@X.io', first_name: 'Ann' }, tags: ['vip'], status: 'closed' });
      expect(result).toEqual({ state: 'applied', profileId: expect.any(String) });
      const id = (result as { profileId: string }).profileId;
      const [row] = await fx.dataSource.query(`SELECT attributes FROM profiles WHERE id = $1`, [id]);
      expect(row.attributes).toEqual({ email: 'ann@x.io', first_name: 'Ann', $status: 'closed', $tags: ['vip'] });
    });

    it('when a create names an email another profile holds, then conflict names the owner and the field', async () => {
      const first = await writes().submit({ op: 'create', tenant: 'default', attributes: { email: 'bob@x.io' } });
      const second = await writes().submit({ op: 'create', tenant: 'default', attributes: { email: 'BOB@x.io', phone: '5550000001' } });
      expect(second).toEqual({ state: 'conflict', field: 'attributes.email', ownerId: (first as { profileId: string }).profileId, detail: expect.stringContaining('attributes.email') });
    });

    it('when patched, linked and unlinked, then each answers applied (contacts with their id); an unknown profile answers not-found', async () => {
      const w = writes();
      const { profileId } = (await w.submit({ op: 'create', tenant: 'default', attributes: { username: 'carl' } })) as { profileId: string };
      expect(await w.submit({ op: 'patch', tenant: 'default', profileId, attributes: { city: 'Oslo' } })).toEqual({ state: 'applied', profileId });
      const linked = await w.submit({ op: 'link-contact', tenant: 'default', profileId, contact: { type: 'email', value: 'carl@x.io' } });
      expect(linked).toEqual({ state: 'applied', profileId, contactId: expect.any(String) });
      const contactId = (linked as { contactId: string }).contactId;
      expect(await w.submit({ op: 'unlink-contact', tenant: 'default', profileId, contactId })).toEqual({ state: 'applied', profileId, contactId });
      expect(await w.submit({ op: 'unlink-contact', tenant: 'default', profileId, contactId })).toEqual({ state: 'not-found' });
      expect(await w.submit({ op: 'patch', tenant: 'default', profileId: profileIdFor('nobody'), attributes: { city: 'Oslo' } })).toEqual({ state: 'not-found' });
      const taken = await w.submit({ op: 'create', tenant: 'default', attributes: { username: 'carl', email: 'carl2@x.io' } });
      expect(taken).toMatchObject({ state: 'conflict', field: 'attributes.username', ownerId: profileId });
    });

    it('when an identifier does not normalise (or the body breaks a rule), then invalid names each field and nothing is produced', async () => {
      const before = await logSize();
      expect(await writes().submit({ op: 'create', tenant: 'default', attributes: { email: 'not-an-email', $status: 'x', emails: ['a@x.io'] }, tags: ['ok', ''], password: 'short' })).toEqual({
        state: 'invalid',
        errors: [
          { field: 'attributes.email', message: 'must look like an email address' },
          { field: 'attributes.$status', message: expect.any(String) },
          { field: 'attributes.emails', message: expect.any(String) },
          { field: 'tags[1]', message: expect.any(String) },
          { field: 'password', message: 'must be a string of 8-128 characters' },
        ],
      });
      expect(await writes().submit({ op: 'create', tenant: 'default', attributes: { city: 'Oslo' } })).toMatchObject({ state: 'invalid', errors: [{ field: 'attributes' }] });
      expect(await writes().submit({ op: 'link-contact', tenant: 'default', profileId: profileIdFor('x'), contact: { type: 'phone', value: '12' } })).toMatchObject({ state: 'invalid', errors: [{ field: 'value' }] });
      expect(await writes().submit({ op: 'link-contact', tenant: 'default', profileId: profileIdFor('x'), contact: { type: 'zaius_id', value: profileIdFor('x') } })).toMatchObject({ state: 'invalid', errors: [{ field: 'key' }] });
      expect(await writes().submit({ op: 'patch', tenant: 'default', profileId: 'not-a-uuid', attributes: {} })).toEqual({ state: 'not-found' });
      expect(await logSize()).toBe(before);
    });

    it('when a profile is erased, then the answer comes once the person is gone (read-your-writes); an unknown id is not-found', async () => {
      const w = writes();
      const { profileId } = (await w.submit({ op: 'create', tenant: 'default', attributes: { email: 'dora@x.io' } })) as { profileId: string };
      const erased = await w.erase('default', profileId.toUpperCase());
      expect(erased).toEqual({ state: 'erased', requestId: expect.any(String), profileId });
      // No polling: the erasure was applied before erase() answered.
      const rows = await fx.dataSource.query(`SELECT 1 FROM profiles WHERE id = $1 UNION ALL SELECT 1 FROM identifiers WHERE profile_id = $1`, [profileId]);
      expect(rows).toEqual([]);
      expect(await w.erase('default', profileId)).toEqual({ state: 'not-found' });
      expect(await w.erase('default', 'nope')).toEqual({ state: 'not-found' });
      // A write that names the erased profile afterwards reaches nothing.
      expect(await w.submit({ op: 'patch', tenant: 'default', profileId, attributes: { city: 'Oslo' } })).toEqual({ state: 'not-found' });
    });

    it('when a password is set, then neither the log nor any table holds it in plain text', async () => {
      const password = 'Plain-Text-Pa55word-9f3a';
      const result = await writes().submit({ op: 'create', tenant: 'default', attributes: { email: 'erin@x.io' }, password });
      const { profileId } = result as { profileId: string };
      await writes().submit({ op: 'patch', tenant: 'default', profileId, attributes: {}, password: `${password}-2` });
      const [row] = await fx.dataSource.query(`SELECT attributes->>'$password' AS hash FROM profiles WHERE id = $1`, [profileId]);
      expect(row.hash).toMatch(/^scrypt\$/);
      const tables: Array<{ schema: string; name: string }> = await fx.dataSource.query(
        `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
      );
      expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['profiles', 'profile_write_outcomes']));
      expect(tables.some((t) => /log|record/.test(t.name))).toBe(true);
      // Every row as text, and every bytea column (the log's values and headers) by its bytes.
      const byteaColumns: Array<{ schema: string; name: string; column: string }> = await fx.dataSource.query(
        `SELECT table_schema AS schema, table_name AS name, column_name AS column FROM information_schema.columns
          WHERE data_type = 'bytea' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
      );
      expect(byteaColumns.length).toBeGreaterThan(0);
      const hits: string[] = [];
      for (const t of tables) {
        const bytea = byteaColumns.filter((c) => c.schema === t.schema && c.name === t.name).map((c) => ` OR position(convert_to($1, 'UTF8') in x."${c.column}") > 0`);
        const [{ n }] = await fx.dataSource.query(`SELECT count(*)::int AS n FROM "${t.schema}"."${t.name}" AS x WHERE strpos(x::text, $1) > 0${bytea.join('')}`, [password]);
        if (n > 0) hits.push(`${t.schema}.${t.name}`);
      }
      expect(hits).toEqual([]);
      // The search finds what is there: the current hash is in the log (the patch record carried it).
      const hash = row.hash as string;
      const [{ n: logged }] = await fx.dataSource.query(
        `SELECT count(*)::int AS n FROM log_records WHERE position(convert_to($1, 'UTF8') in value) > 0`,
        [hash],
      );
      expect(logged).toBe(1);
    });
  });

  describe('given no projector running', () => {
    it('when the wait runs out, then the answer is pending with the record and profile ids; the outcome follows once applied', async () => {
      await consumer?.stop();
      consumer = undefined;
      const result = await writes(60).submit({ op: 'create', tenant: 'default', attributes: { email: 'late@x.io' } });
      expect(result).toEqual({ state: 'pending', recordId: expect.any(String), profileId: expect.any(String) });
      const { recordId, profileId } = result as { recordId: string; profileId: string };
      expect(profileId).toBe(profileIdFor(recordId));
      await startProjector();
      const deadline = Date.now() + 10_000;
      let rows: Array<{ state: string }> = [];
      while (rows.length === 0 && Date.now() < deadline) {
        rows = await fx.dataSource.query(`SELECT state FROM profile_write_outcomes WHERE record_id = $1`, [recordId]);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(rows).toEqual([{ state: 'applied' }]);
    });

    it('when an erasure is not applied in time, then the answer is pending with its request id; the person goes once the projector runs', async () => {
      const { profileId } = (await writes().submit({ op: 'create', tenant: 'default', attributes: { email: 'gone-late@x.io' } })) as { profileId: string };
      await consumer?.stop();
      consumer = undefined;
      const result = await writes(60).erase('default', profileId);
      expect(result).toEqual({ state: 'pending', requestId: expect.any(String), profileId });
      expect(await fx.dataSource.query(`SELECT 1 AS held FROM profiles WHERE id = $1`, [profileId])).toEqual([{ held: 1 }]);
      await startProjector();
      const deadline = Date.now() + 10_000;
      let rows: unknown[] = [{}];
      while (rows.length && Date.now() < deadline) {
        rows = await fx.dataSource.query(`SELECT 1 FROM profiles WHERE id = $1`, [profileId]);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(rows).toEqual([]);
    });
  });
});
