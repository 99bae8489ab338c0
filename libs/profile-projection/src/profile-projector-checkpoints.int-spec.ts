// Issue 8 item 5: the database checkpoint is the only truth — no checkpoint means the log's beginning,
// a batch above the checkpoint (a gap) stops the partition, and the first batch is fenced like any other.
import { Client } from 'pg';
import { PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { ProfileQueryRepository } from '@tessera/store';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, silentLogger } from '@tessera/testing/projection-fixture';
import { CheckpointGapError, ProfileProjector } from './profile-projector.service';

let fx: ProjectionFixture;
let query: ProfileQueryRepository;

beforeEach(async () => {
  fx = await createProjectionFixture();
  query = new ProfileQueryRepository(fx.dataSource);
});

afterEach(async () => {
  await fx.close();
});

async function checkpoint(partition: number): Promise<number | undefined> {
  const rows: Array<{ next_offset: string }> = await fx.dataSource.query(
    `SELECT next_offset FROM consumer_offsets WHERE topic = $1 AND partition = $2`,
    [PROFILE_UPSERTS_TOPIC, partition],
  );
  return rows.length ? Number(rows[0].next_offset) : undefined;
}

async function until<T>(probe: () => Promise<T | undefined>, ms = 15_000): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('given a partition without a checkpoint', () => {
  it('then the start offset is 0, the log’s beginning', async () => {
    const projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
    expect(await projector.startOffset(PROFILE_UPSERTS_TOPIC, 1)).toBe(0);
  });

  it('when the log’s group offset is ahead (projections reset), then consuming starts at the beginning, not at the group offset', async () => {
    const values = encodeUpserts([{ email: 'r1@example.com' }, { email: 'r2@example.com' }, { email: 'r3@example.com' }]);
    await fx.eventLog.produce(PROFILE_UPSERTS_TOPIC, values.map((v) => ({ ...v, partition: 0 })));
    const projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
    // The group committed everything once; the projections (and their checkpoints) are gone since.
    await fx.eventLog.seek(projector.consumerGroup, PROFILE_UPSERTS_TOPIC, 'end');
    const handle = await fx.eventLog.consume({
      groupId: projector.consumerGroup,
      topics: [PROFILE_UPSERTS_TOPIC],
      resolveStartOffset: (topic, partition) => projector.startOffset(topic, partition),
      handleBatch: (batch) => projector.handleBatch(batch),
    });
    try {
      expect(await until(async () => ((await checkpoint(0)) === 3 ? 3 : undefined))).toBe(3);
    } finally {
      await handle.stop();
    }
    for (const email of ['r1@example.com', 'r2@example.com', 'r3@example.com']) {
      expect(await query.findByIdentifier('default', 'email', email)).not.toBeNull();
    }
  });
});

describe('given a batch that starts above the stored checkpoint (records missing from the log)', () => {
  it('then it is refused with a CheckpointGapError, nothing applies, the error is logged and readiness fails — until the missing records come', async () => {
    const errors: Array<{ msg: string; extra?: Record<string, unknown> }> = [];
    const logger = { ...silentLogger, error: (msg: string, extra?: Record<string, unknown>) => void errors.push({ msg, extra }) };
    const projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, logger);
    const values = encodeUpserts([{ email: 's1@example.com' }, { email: 's2@example.com' }, { email: 's3@example.com' }, { email: 's4@example.com' }]);
    await projector.handleBatch(batchOf(0, values.slice(0, 2)));
    expect(await checkpoint(0)).toBe(2);

    const gap = await projector.handleBatch(batchOf(0, values.slice(3), 3)).then(() => undefined, (e: unknown) => e);
    expect(gap).toBeInstanceOf(CheckpointGapError);
    expect(gap).toMatchObject({ expected: 2, got: 3, partition: 0, topic: PROFILE_UPSERTS_TOPIC, consumerGroup: projector.consumerGroup });
    expect(await query.findByIdentifier('default', 'email', 's4@example.com')).toBeNull();
    expect(await checkpoint(0)).toBe(2);
    expect(errors).toEqual([
      {
        msg: expect.stringMatching(/checkpoint gap/),
        extra: expect.objectContaining({ group: projector.consumerGroup, topic: PROFILE_UPSERTS_TOPIC, partition: 0, expected: 2, got: 3 }),
      },
    ]);
    await expect(projector.health.check()).rejects.toThrow(/checkpoint-gap/);

    await projector.handleBatch(batchOf(0, values.slice(2), 2));
    expect(await query.findByIdentifier('default', 'email', 's4@example.com')).not.toBeNull();
    expect(await checkpoint(0)).toBe(4);
    await expect(projector.health.check()).resolves.toBeUndefined();
  });
});

describe('given two members delivering the first batch of a partition at the same time', () => {
  it('then only one applies it: the second finds it applied (its poison record is dead-lettered once, no double write)', async () => {
    const values = encodeUpserts([{ email: 't1@example.com', n: 1 }, { email: 't2@example.com', phone: '+15550003333', n: 1 }]);
    const batch = batchOf(3, [values[0], { key: 'default:email:z', value: '[]', headers: {} }, values[1]]);
    const first = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
    const second = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
    // Both transactions are held just before they lock profiles, so they overlap for sure.
    const locker = new Client({ connectionString: fx.db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE profiles IN EXCLUSIVE MODE');
      const both = Promise.all([first.handleBatch(batch), second.handleBatch(batch)]);
      const waiting = await until(async () => {
        const [{ n }] = (await locker.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows;
        return n >= 2 ? n : undefined;
      });
      expect(waiting).toBeGreaterThanOrEqual(2);
      await locker.query('COMMIT');
      await both;
    } finally {
      await locker.end();
    }
    const [{ version }] = await fx.dataSource.query(`SELECT max(version) AS version FROM profiles`);
    expect(version).toBe(1);
    expect(await checkpoint(3)).toBe(3);
    const [{ dead }] = await fx.dataSource.query(`SELECT count(*)::int AS dead FROM log_records WHERE topic = $1`, [PROFILE_UPSERTS_DLQ_TOPIC]);
    expect(dead).toBe(1);
    expect(first.stats.deadLettered + second.stats.deadLettered).toBe(1);
  });
});
