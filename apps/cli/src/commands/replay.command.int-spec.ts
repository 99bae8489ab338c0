import { PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { Infrastructure } from '@tessera/runtime';
import { createLogger } from '@tessera/runtime/logger';
import { acquireWorkerLease, ProfileQueryRepository } from '@tessera/store';
import { createProjectionFixture, encodeUpserts, projectionState, ProjectionFixture, silentLogger } from '@tessera/testing/projection-fixture';
import { PROFILE_PROJECTOR_GROUP, ProfileProjector } from '@tessera/profile-projection';
import { replayProjections } from './replay.command';

let fx: ProjectionFixture;
let infra: Infrastructure;

function infrastructureOf(f: ProjectionFixture): Infrastructure {
  return {
    env: {} as Infrastructure['env'],
    logger: createLogger('silent'),
    database: { dataSource: f.dataSource } as Infrastructure['database'],
    eventLog: f.eventLog,
    tenants: f.tenants,
    profiles: new ProfileQueryRepository(f.dataSource),
    close: async () => undefined,
  };
}

beforeEach(async () => {
  // One partition: the log's order is the application order, so live and replayed state must match exactly.
  fx = await createProjectionFixture(1);
  infra = infrastructureOf(fx);
});

afterEach(async () => {
  await fx.close();
});

/** Runs the worker's projector as a consumer until every partition is applied to its end. */
async function project(): Promise<void> {
  const projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
  const handle = await fx.eventLog.consume({
    groupId: PROFILE_PROJECTOR_GROUP,
    topics: [PROFILE_UPSERTS_TOPIC],
    resolveStartOffset: (t, p) => projector.startOffset(t, p),
    handleBatch: (b) => projector.handleBatch(b),
  });
  const ends = await fx.eventLog.endOffsets(PROFILE_UPSERTS_TOPIC);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const done = await Promise.all(ends.map(async (e) => ((await projector.startOffset(PROFILE_UPSERTS_TOPIC, e.partition)) ?? 0) >= e.offset));
    if (done.every(Boolean)) break;
    if (Date.now() > deadline) throw new Error('projection did not catch up');
    await new Promise((r) => setTimeout(r, 50));
  }
  await handle.stop();
}

/** People with overlapping emails, phones, vuids and customer ids so merges, moves and protection all happen. */
function population(records: number) {
  const items: Array<Record<string, unknown>> = [];
  for (let i = 0; i < records; i++) {
    const person = i % 300;
    const item: Record<string, unknown> = { ts: 1_700_000_000 + ((i * 7919) % 5000), n: i, tier: ['gold', 'silver', null][i % 3] };
    if (i % 5 !== 0) item.email = `person${person}@replay.example`;
    if (i % 3 === 0) item.phone = `+1555${String((person * 13) % 400).padStart(7, '0')}`;
    if (i % 2 === 0) item.vuid = `device-${(person * 7) % 350}`;
    if (i % 11 === 0) item.customer_id = `cust-${person % 290}`;
    if (!item.email && !item.phone && !item.vuid && !item.customer_id) item.vuid = `device-${i}`;
    items.push(item);
  }
  return items;
}

describe('given a log of profile upserts already projected', () => {
  it('when replayed from the beginning, then the rebuilt projections are identical, ids included', async () => {
    const records = encodeUpserts(population(3000));
    for (let i = 0; i < records.length; i += 500) await fx.eventLog.produce(PROFILE_UPSERTS_TOPIC, records.slice(i, i + 500));
    await project();
    const before = await projectionState(fx.dataSource);
    expect(before.profiles.length).toBeGreaterThan(100);
    expect(before.profiles.some((p: { merged_into: string | null }) => p.merged_into)).toBe(true);

    const progress: string[] = [];
    const result = await replayProjections(infra, { out: { write: (s: string) => progress.push(s) } as unknown as NodeJS.WritableStream });
    expect(result.done).toBe(3000);
    expect(result.total).toBe(3000);
    expect(progress.join('')).toMatch(/replayed 3000\/3000 records \(\d+ records\/s, ETA \d+s\)/);
    expect(await projectionState(fx.dataSource)).toEqual(before);
  });

  it('when a transaction fails while the graph is written behind, then the replay starts over without write-behind and the projections are identical', async () => {
    const records = encodeUpserts(population(3000));
    for (let i = 0; i < records.length; i += 500) await fx.eventLog.produce(PROFILE_UPSERTS_TOPIC, records.slice(i, i + 500));
    await project();
    const before = await projectionState(fx.dataSource);
    // The second write of consumer_offsets since now fails once, as a deadlock would (the first batch's
    // first save; its checkpoint lock inserted the row first): that transaction is retried.
    await fx.dataSource.query(`
      CREATE SEQUENCE replay_spec_writes;
      CREATE FUNCTION replay_spec_fail() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF nextval('replay_spec_writes') = 2 THEN RAISE EXCEPTION 'injected deadlock' USING ERRCODE = '40P01'; END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER replay_spec_fail AFTER INSERT OR UPDATE ON consumer_offsets FOR EACH STATEMENT EXECUTE FUNCTION replay_spec_fail();`);
    const progress: string[] = [];
    try {
      const result = await replayProjections(infra, { out: { write: (s: string) => progress.push(s) } as unknown as NodeJS.WritableStream });
      expect(result.done).toBe(3000);
    } finally {
      await fx.dataSource.query(`DROP TRIGGER replay_spec_fail ON consumer_offsets; DROP FUNCTION replay_spec_fail(); DROP SEQUENCE replay_spec_writes`);
    }
    expect(progress.join('')).toMatch(/rows not yet saved when a transaction was retried; .*applying again, each batch saving its own rows/);
    expect(await projectionState(fx.dataSource)).toEqual(before);
  });

  it('when a worker of the group is still running, then replay refuses and changes nothing', async () => {
    await fx.eventLog.produce(PROFILE_UPSERTS_TOPIC, encodeUpserts([{ email: 'keep@replay.example' }]));
    const projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
    // As ProfileProjectionConsumer does: a running worker holds the shared projection lease.
    const lease = await acquireWorkerLease(fx.dataSource);
    const handle = await fx.eventLog.consume({
      groupId: PROFILE_PROJECTOR_GROUP,
      topics: [PROFILE_UPSERTS_TOPIC],
      handleBatch: (b) => projector.handleBatch(b),
    });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const before = await projectionState(fx.dataSource);
      await expect(replayProjections(infra)).rejects.toThrow(/stop the worker/);
      expect(await projectionState(fx.dataSource)).toEqual(before);
    } finally {
      await handle.stop();
      await lease.release();
    }
    // Once the worker is gone, the replay goes ahead.
    expect((await replayProjections(infra)).done).toBe(1);
  });
});

describe('given the same records in logs of different partition counts', () => {
  it('when each is replayed (one sorted in memory, one in replay_records), then the projections are identical, ids included, and a worker resumes after the replayed records', async () => {
    const three = await createProjectionFixture(3);
    try {
      // Shared people across partitions (so the order between partitions matters), several requests.
      const people = population(2400);
      const batches = [0, 1, 2, 3].map((b) => encodeUpserts(people.slice(b * 600, b * 600 + 600)));
      for (const batch of batches) {
        await fx.eventLog.produce(PROFILE_UPSERTS_TOPIC, batch);
        // Reversed within the request on the 3-partition log: the replay order must not depend on offsets.
        await three.eventLog.produce(PROFILE_UPSERTS_TOPIC, [...batch].reverse());
      }
      await replayProjections(infra);
      // Sorted by PostgreSQL in replay_records (over its memory budget) rather than in memory: the same order.
      await replayProjections(infrastructureOf(three), { memoryBudgetBytes: 1 });
      const one = await projectionState(fx.dataSource);
      expect(one.profiles.length).toBeGreaterThan(100);
      expect(one.profiles.some((p: { merged_into: string | null }) => p.merged_into)).toBe(true);
      expect(await projectionState(three.dataSource)).toEqual(one);

      // Checkpoints stand at the end of what was replayed: a worker applies only what comes after.
      const checkpoints = await three.dataSource.query(`SELECT partition, next_offset FROM consumer_offsets WHERE consumer_group = $1 ORDER BY partition`, [PROFILE_PROJECTOR_GROUP]);
      const ends = await three.eventLog.endOffsets(PROFILE_UPSERTS_TOPIC);
      expect(checkpoints.map((c: { partition: number; next_offset: string }) => [c.partition, Number(c.next_offset)])).toEqual(ends.map((e) => [e.partition, e.offset]));
      expect(await three.dataSource.query(`SELECT count(*)::int AS n FROM replay_records`)).toEqual([{ n: 0 }]);
    } finally {
      await three.close();
    }
  });
});
