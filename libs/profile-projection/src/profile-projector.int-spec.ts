import { DLQ_HEADER, PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { ProfileQueryRepository, TenantRepository } from '@tessera/store';
import { batchOf, createProjectionFixture, encodeUpserts, projectionState, ProjectionFixture, silentLogger } from '@tessera/testing/projection-fixture';
import { AHEAD_SLICE, ProfileProjector } from './profile-projector.service';

let fx: ProjectionFixture;
let projector: ProfileProjector;
let query: ProfileQueryRepository;

beforeEach(async () => {
  fx = await createProjectionFixture();
  projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
  query = new ProfileQueryRepository(fx.dataSource);
});

afterEach(async () => {
  await fx.close();
});

describe('given a batch of upserts', () => {
  it('when applied, then profiles, identifiers and the checkpoint are stored together', async () => {
    const batch = batchOf(0, encodeUpserts([
      { email: 'ann@example.com', first_name: 'Ann' },
      { email: 'bob@example.com', phone: '+1 555 000 1111', first_name: 'Bob' },
    ]));
    await projector.handleBatch(batch);
    expect((await query.findByIdentifier('default', 'email', 'ann@example.com'))?.attributes).toMatchObject({ first_name: 'Ann' });
    expect((await query.findByIdentifier('default', 'phone', '+15550001111'))?.attributes).toMatchObject({ first_name: 'Bob' });
    expect(await projector.startOffset(PROFILE_UPSERTS_TOPIC, 0)).toBe(2);
  });

  it('when the same batch is delivered twice, then the second delivery has no effect', async () => {
    const batch = batchOf(1, encodeUpserts([
      { email: 'c@example.com', visits: 1 },
      { email: 'c@example.com', vuid: 'v-c', visits: 2 },
      { phone: '5550002222', email: 'c@example.com' },
    ]));
    await projector.handleBatch(batch);
    const once = await projectionState(fx.dataSource);
    await projector.handleBatch(batch);
    expect(await projectionState(fx.dataSource)).toEqual(once);
    const [{ version }] = await fx.dataSource.query(`SELECT max(version) AS version FROM profiles`);
    expect(version).toBe(1);
  });

  it('when a redelivered batch overlaps the checkpoint, then only the new records apply', async () => {
    const values = encodeUpserts([{ email: 'd@example.com', n: 1 }, { email: 'd@example.com', n: 2 }, { email: 'd@example.com', n: 3 }]);
    await projector.handleBatch(batchOf(2, values.slice(0, 2)));
    await projector.handleBatch(batchOf(2, values));
    expect((await query.findByIdentifier('default', 'email', 'd@example.com'))?.attributes.n).toBe(3);
    expect(await projector.startOffset(PROFILE_UPSERTS_TOPIC, 2)).toBe(3);
  });
});

/** One turn of the event loop: the projector prepares a slice of what the log read ahead in each. */
const oneTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('given a batch the log read ahead and the projector prepared', () => {
  it('when it is handled, then no record is decoded again, poison included, and it applies like any batch', async () => {
    const batch = batchOf(2, [
      ...encodeUpserts([{ email: 'early@example.com', first_name: 'Eve' }]),
      { key: 'k', value: '{"not": "a record"}', headers: { schema: 'profile-upsert.v1' } },
      ...encodeUpserts([{ email: 'early@example.com', last_name: 'Early' }]),
    ]);
    projector.prepare(batch.records);
    await oneTurn();
    // Were they decoded again, these bytes would make every record poison.
    for (const record of batch.records) (record as { value: Buffer }).value = Buffer.from('not json');
    await projector.handleBatch(batch);
    expect((await query.findByIdentifier('default', 'email', 'early@example.com'))?.attributes).toMatchObject({ first_name: 'Eve', last_name: 'Early' });
    expect(projector.stats.deadLettered).toBe(1);
    expect(await projector.startOffset(PROFILE_UPSERTS_TOPIC, 2)).toBe(3);
  });

  it('when it is handled before every slice was prepared, then the first slice is taken as prepared and handleBatch decodes the rest itself', async () => {
    const size = 2 * AHEAD_SLICE + 50;
    const batch = batchOf(3, encodeUpserts(Array.from({ length: size }, (_, i) => ({ email: `slice${i}@example.com`, n: i }))));
    projector.prepare(batch.records);
    await oneTurn();
    // Only what is still undecoded reads these bytes (and is dead-lettered): the slices not prepared yet.
    for (const record of batch.records) (record as { value: Buffer }).value = Buffer.from('not json');
    await projector.handleBatch(batch);
    const applied: Array<{ n: number }> = await fx.dataSource.query(`SELECT count(*)::int AS n FROM identifiers WHERE value LIKE 'slice%'`);
    expect(applied[0].n).toBe(AHEAD_SLICE);
    expect(projector.stats.deadLettered).toBe(size - AHEAD_SLICE);
    expect(await projector.startOffset(PROFILE_UPSERTS_TOPIC, 3)).toBe(size);
  });

  it('when preparing a record ahead throws, then nothing escapes and handleBatch prepares that record itself', async () => {
    // Received before the rules below are read: the read ahead extracts their identifiers with them.
    const batch = batchOf(7, encodeUpserts([{ email: 'calm@example.com', n: 1 }, { email: 'boom@example.com', n: 2 }]));
    await new Promise((r) => setTimeout(r, 2));
    await projector.handleBatch(batchOf(6, encodeUpserts([{ email: 'rules-known@example.com' }]))); // the rules the read ahead uses
    const rules = await fx.tenants.identifierRules('default');
    const normalise = rules.normalise.bind(rules);
    const failing = jest.spyOn(rules, 'normalise').mockImplementation((field, value) => {
      if (value === 'boom@example.com') throw new Error('boom');
      return normalise(field, value);
    });
    projector.prepare(batch.records);
    await oneTurn(); // an exception here would be uncaught: it runs outside any batch
    expect(failing.mock.calls.map(([, value]) => value)).toContain('boom@example.com'); // it did throw ahead
    failing.mockRestore();
    await projector.handleBatch(batch);
    expect((await query.findByIdentifier('default', 'email', 'boom@example.com'))?.attributes.n).toBe(2);
    expect((await query.findByIdentifier('default', 'email', 'calm@example.com'))?.attributes.n).toBe(1);
  });

  it('when its records were received after the rules the read ahead holds were read, then their identifiers are extracted once, by their batch', async () => {
    await projector.handleBatch(batchOf(8, encodeUpserts([{ email: 'rules-read@example.com' }])));
    const rules = await fx.tenants.identifierRules('default');
    await new Promise((r) => setTimeout(r, 2));
    const batch = batchOf(9, encodeUpserts([{ email: 'live@example.com', n: 1 }])); // received after the rules were read
    const normalise = jest.spyOn(rules, 'normalise');
    projector.prepare(batch.records);
    await oneTurn();
    expect(normalise).not.toHaveBeenCalled(); // their batch reads newer rules: extracting now would be wasted
    normalise.mockRestore();
    await projector.handleBatch(batch);
    expect((await query.findByIdentifier('default', 'email', 'live@example.com'))?.attributes.n).toBe(1);
  });

  it('when the tenant gained an identifier type after the rules the read ahead holds, then records received after it resolve with the new type', async () => {
    await fx.tenants.ensureTenant('default');
    await projector.handleBatch(batchOf(4, encodeUpserts([{ email: 'rules-before@example.com' }]))); // the rules the read ahead uses
    await new TenantRepository(fx.dataSource).updateSettings('default', { identifierTypes: [{ type: 'fs_user_id', confidence: 'high' }] });
    await new Promise((r) => setTimeout(r, 5));
    const batch = batchOf(5, encodeUpserts([{ email: 'rules-after@example.com', fs_user_id: 'fs-9' }]));
    projector.prepare(batch.records);
    await oneTurn(); // identifiers extracted ahead with the rules of batch 4, which do not know fs_user_id
    await projector.handleBatch(batch);
    expect(await fx.dataSource.query(`SELECT value FROM identifiers WHERE type = 'fs_user_id'`)).toEqual([{ value: 'fs-9' }]);
  });
});

describe('given a custom identifier type added by another process', () => {
  it('when a record received after it is applied, then the worker knows the type even with the tenant rules cached', async () => {
    await fx.tenants.ensureTenant('default');
    await fx.tenants.identifierRules('default'); // this worker's cache now holds the rules without the type
    const ingestSide = new TenantRepository(fx.dataSource); // the CLI / ingest process
    await ingestSide.updateSettings('default', { identifierTypes: [{ type: 'fs_user_id', confidence: 'high' }] });
    await new Promise((r) => setTimeout(r, 5));
    await projector.handleBatch(batchOf(0, encodeUpserts([{ email: 'new-type@example.com', fs_user_id: 'fs-1' }])));
    const rows = await fx.dataSource.query(`SELECT value FROM identifiers WHERE type = 'fs_user_id'`);
    expect(rows).toEqual([{ value: 'fs-1' }]);
  });
});

describe('given a profile merged away earlier', () => {
  it('when its survivor is merged into an older profile in a later batch, then the old id is re-pointed to the final survivor', async () => {
    const values = encodeUpserts([
      { email: 'first@chain.example', ts: 300 },
      { phone: '+15550009999', ts: 200 },
      { email: 'first@chain.example', phone: '+15550009999', ts: 400 },
      { email: 'oldest@chain.example', ts: 100 },
      { email: 'oldest@chain.example', phone: '+15550009999', ts: 500 },
    ]);
    await projector.handleBatch(batchOf(0, values.slice(0, 3)));
    const first = (await fx.dataSource.query(`SELECT id, merged_into FROM profiles WHERE merged_into IS NOT NULL`)) as Array<{ id: string; merged_into: string }>;
    expect(first).toHaveLength(1);
    await projector.handleBatch(batchOf(0, values.slice(3), 3));
    const oldest = await query.findByIdentifier('default', 'email', 'oldest@chain.example');
    const [row] = await fx.dataSource.query(`SELECT merged_into FROM profiles WHERE id = $1`, [first[0].id]);
    expect(row.merged_into).toBe(oldest!.id);
    expect((await query.findByIdentifier('default', 'zaius_id', first[0].id))?.id).toBe(oldest!.id);
    expect(oldest!.identifiers).toEqual({ email: ['oldest@chain.example', 'first@chain.example'], phone: ['+15550009999'] });
  });
});

describe('given records the worker cannot apply', () => {
  it('when a batch holds poison, then it goes to the DLQ with its headers and the partition moves on', async () => {
    const good = encodeUpserts([{ email: 'e@example.com', ok: true }, { email: 'f@example.com', ok: true }]);
    const poison = { key: 'default:email:x', value: '{"id": 42, "not": "a record"}', headers: { 'content-type': 'application/json', schema: 'profile-upsert.v1' } };
    const notJson = { key: 'default:email:y', value: '{{{', headers: {} };
    await projector.handleBatch(batchOf(3, [good[0], poison, notJson, good[1]], 10));

    expect((await query.findByIdentifier('default', 'email', 'e@example.com'))?.attributes.ok).toBe(true);
    expect((await query.findByIdentifier('default', 'email', 'f@example.com'))?.attributes.ok).toBe(true);
    expect(await projector.startOffset(PROFILE_UPSERTS_TOPIC, 3)).toBe(14);

    const dead: Array<{ key: string | null; headers: Record<string, string>; value: Buffer }> = [];
    const handle = await fx.eventLog.consume({
      groupId: 'test-dlq-reader',
      topics: [PROFILE_UPSERTS_DLQ_TOPIC],
      handleBatch: async (b) => void dead.push(...b.records),
    });
    const deadline = Date.now() + 10_000;
    while (dead.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await handle.stop();
    expect(dead.map((d) => d.key)).toEqual(['default:email:x', 'default:email:y']);
    expect(dead[0].value.toString()).toBe(poison.value);
    expect(dead[0].headers).toMatchObject({
      schema: 'profile-upsert.v1',
      [DLQ_HEADER.sourceTopic]: PROFILE_UPSERTS_TOPIC,
      [DLQ_HEADER.sourcePartition]: '3',
      [DLQ_HEADER.sourceOffset]: '11',
      [DLQ_HEADER.error]: expect.stringMatching(/id/),
    });
    expect(dead[1].headers[DLQ_HEADER.sourceOffset]).toBe('12');
  });
});

// Errors while applying (data errors vs. everything else) are covered in profile-projector-errors.int-spec.ts.

describe('given two workers on different partitions sharing people', () => {
  it('when they race on the same identifiers, then profiles merge correctly and no batch fails', async () => {
    const left = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
    const right = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
    const people = 60;
    // Partition 0 knows people by email, partition 1 by phone; each batch also links both for half of them.
    const byEmail = Array.from({ length: people }, (_, i) => ({ email: `p${i}@race.example`, side: 'left', ts: 1000 + i }));
    const byPhone = Array.from({ length: people }, (_, i) => ({ phone: `+1555100${String(i).padStart(4, '0')}`, side: 'right', ts: 2000 + i }));
    const links = Array.from({ length: people }, (_, i) => ({ email: `p${i}@race.example`, phone: `+1555100${String(i).padStart(4, '0')}`, ts: 3000 + i }));
    const leftBatch = batchOf(0, encodeUpserts([...byEmail, ...links.filter((_, i) => i % 2 === 0)]));
    const rightBatch = batchOf(1, encodeUpserts([...byPhone, ...links.filter((_, i) => i % 2 === 1)].reverse()));
    await Promise.all([left.handleBatch(leftBatch), right.handleBatch(rightBatch)]);

    for (let i = 0; i < people; i++) {
      const p = await query.findByIdentifier('default', 'email', `p${i}@race.example`);
      expect(p?.identifiers).toEqual({ email: [`p${i}@race.example`], phone: [`+1555100${String(i).padStart(4, '0')}`] });
      expect(p?.attributes.side).toBe('right'); // ts 2000+i beats 1000+i whatever the arrival order
    }
    const [{ live }] = await fx.dataSource.query(`SELECT count(*)::int AS live FROM profiles WHERE merged_into IS NULL`);
    expect(live).toBe(people);
  });
});
