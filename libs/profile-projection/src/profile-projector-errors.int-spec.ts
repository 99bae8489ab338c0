// Issue 8 item 3: only data errors dead-letter a record; everything else is retried (and surfaced when it
// keeps failing); dead letters commit with the checkpoint, so a retried batch never dead-letters twice.
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { DLQ_HEADER, PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { classifyError, createDataSource, ProfileQueryRepository, TenantRepository } from '@tessera/store';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, silentLogger } from '@tessera/testing/projection-fixture';
import { ProfileProjector } from './profile-projector.service';

let fx: ProjectionFixture;
let query: ProfileQueryRepository;

beforeEach(async () => {
  fx = await createProjectionFixture();
  query = new ProfileQueryRepository(fx.dataSource);
});

afterEach(async () => {
  await fx.close();
});

async function deadLetters(): Promise<Array<{ offset: number; headers: Record<string, string> }>> {
  const rows: Array<{ offset: string; headers: Record<string, string> }> = await fx.dataSource.query(
    `SELECT "offset", headers FROM log_records WHERE topic = $1 ORDER BY "offset"`,
    [PROFILE_UPSERTS_DLQ_TOPIC],
  );
  return rows.map((r) => ({ offset: Number(r.offset), headers: r.headers }));
}

async function checkpoint(partition: number): Promise<number | undefined> {
  const rows: Array<{ next_offset: string }> = await fx.dataSource.query(
    `SELECT next_offset FROM consumer_offsets WHERE topic = $1 AND partition = $2`,
    [PROFILE_UPSERTS_TOPIC, partition],
  );
  return rows.length ? Number(rows[0].next_offset) : undefined;
}

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

describe('given a record whose data the database refuses', () => {
  it('when it sits among good records, then bisection dead-letters only it, with the SQLSTATE reason, and applies the rest', async () => {
    const projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger);
    const values = encodeUpserts([{ email: 'k@example.com', n: 1 }, { email: 'l@example.com', n: 1 }, { email: 'k@example.com', n: 2 }]);
    // A tenant name with a NUL character is valid JSON and passes the decoder, but PostgreSQL text cannot
    // hold it (SQLSTATE 22021): a record that can never apply, as an older producer could have written it.
    const [template] = encodeUpserts([{ email: 'nul@example.com', n: 0 }]);
    const nul = { ...template, value: JSON.stringify({ ...JSON.parse(template.value), tenant: 'ac\u0000me' }) };
    await projector.handleBatch(batchOf(0, [values[0], nul, values[1], values[2]]));

    expect((await query.findByIdentifier('default', 'email', 'k@example.com'))?.attributes.n).toBe(2);
    expect((await query.findByIdentifier('default', 'email', 'l@example.com'))?.attributes.n).toBe(1);
    expect(await query.findByIdentifier('default', 'email', 'nul@example.com')).toBeNull();
    const dead = await deadLetters();
    expect(dead.map((d) => d.headers[DLQ_HEADER.sourceOffset])).toEqual(['1']);
    expect(dead[0].headers[DLQ_HEADER.error]).toMatch(/0x00/);
    expect(await checkpoint(0)).toBe(4);
  });
});

describe('given an error that is not about the record (corrupt tenant settings)', () => {
  it('when it keeps failing, then nothing is dead-lettered, readiness reports the partition after the bound, and the record applies once it is fixed', async () => {
    let corrupt = true;
    class CorruptSettingsTenants extends TenantRepository {
      override async identifierRules(tenant: string) {
        if (tenant === 'acme' && corrupt) throw new TypeError('settings.identifierTypes is not iterable');
        return super.identifierRules(tenant);
      }
    }
    const errors: Array<{ msg: string; extra?: Record<string, unknown> }> = [];
    const logger = { ...silentLogger, error: (msg: string, extra?: Record<string, unknown>) => void errors.push({ msg, extra }) };
    const projector = new ProfileProjector(fx.dataSource, fx.eventLog, new CorruptSettingsTenants(fx.dataSource), logger, undefined, {
      surfaceAfterAttempts: 2,
    });
    const [good] = encodeUpserts([{ email: 'm@example.com', n: 1 }]);
    const [acme] = encodeUpserts([{ email: 'm@example.com', n: 7 }], 'acme');
    const batch = batchOf(1, [good, acme]);

    expect(await failure(projector.handleBatch(batch))).toBeInstanceOf(TypeError);
    await expect(projector.health.check()).resolves.toBeUndefined(); // one failure: still within the bound
    expect(await failure(projector.handleBatch(batch))).toBeInstanceOf(TypeError);
    await expect(projector.health.check()).rejects.toThrow(/1 retrying after 2 attempt\(s\).*not iterable/);
    expect(errors.map((e) => e.extra)).toEqual([expect.objectContaining({ topic: PROFILE_UPSERTS_TOPIC, partition: 1, attempts: 2 })]);
    expect(await deadLetters()).toEqual([]);
    expect(await checkpoint(1)).toBeUndefined();
    expect(projector.stats.deadLettered).toBe(0);

    corrupt = false;
    await projector.handleBatch(batch);
    expect((await query.findByIdentifier('acme', 'email', 'm@example.com'))?.attributes.n).toBe(7);
    expect((await query.findByIdentifier('default', 'email', 'm@example.com'))?.attributes.n).toBe(1);
    await expect(projector.health.check()).resolves.toBeUndefined();
    expect(await checkpoint(1)).toBe(2);
  });
});

describe('given a statement timeout (57014) while a lock is held elsewhere', () => {
  let timed: DataSource;
  let locker: Client;

  beforeEach(async () => {
    const url = new URL(fx.db.url);
    url.searchParams.set('options', '-c statement_timeout=700');
    timed = createDataSource(url.toString(), 4);
    await timed.initialize();
    locker = new Client({ connectionString: fx.db.url });
    await locker.connect();
  });

  afterEach(async () => {
    await locker.end();
    await timed.destroy();
  });

  it('when a batch with a poison record is retried through it, then no valid record is dead-lettered, the poison is dead-lettered once, and all applies when the lock goes', async () => {
    const projector = new ProfileProjector(timed, fx.eventLog, fx.tenants, silentLogger);
    const values = encodeUpserts([{ email: 'n@example.com', n: 1 }, { email: 'o@example.com', n: 1 }]);
    const batch = batchOf(2, [values[0], { key: 'default:email:x', value: '{{{', headers: {} }, values[1]]);
    // Writing the batch needs identity_warnings; another session holds it: every attempt times out after
    // the dead letter was appended and before the checkpoint commit.
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE identity_warnings IN ACCESS EXCLUSIVE MODE');
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await failure(projector.handleBatch(batch));
      expect(error).toMatchObject({ driverError: expect.objectContaining({ code: '57014' }) });
      expect(classifyError(error)).toBe('transient');
    }
    expect(await deadLetters()).toEqual([]);
    expect(await checkpoint(2)).toBeUndefined();
    await locker.query('COMMIT');

    await projector.handleBatch(batch);
    expect((await query.findByIdentifier('default', 'email', 'n@example.com'))?.attributes.n).toBe(1);
    expect((await query.findByIdentifier('default', 'email', 'o@example.com'))?.attributes.n).toBe(1);
    expect((await deadLetters()).map((d) => d.headers[DLQ_HEADER.sourceOffset])).toEqual(['1']);
    expect(await checkpoint(2)).toBe(3);
    expect(projector.stats.deadLettered).toBe(1);

    // Delivered once more (the log redelivers after a lost commit acknowledgement): nothing new.
    await projector.handleBatch(batch);
    expect(await deadLetters()).toHaveLength(1);
  });
});

describe('given dead letters bound for a log outside PostgreSQL (outbox mode, as on Kafka)', () => {
  it('when publishing fails after the commit, then they wait in the outbox, a retried batch adds none, and the next start publishes them once', async () => {
    const projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger, undefined, { deadLetters: 'outbox' });
    const values = encodeUpserts([{ email: 'q@example.com', n: 1 }]);
    const batch = batchOf(0, [{ key: 'default:email:y', value: 'not json', headers: { schema: 'profile-upsert.v1' } }, values[0]]);
    // The DLQ topic is missing: publishing after the commit fails (the batch itself is applied).
    await fx.dataSource.query(`DELETE FROM log_partitions WHERE topic = $1`, [PROFILE_UPSERTS_DLQ_TOPIC]);
    await fx.dataSource.query(`DELETE FROM log_topics WHERE name = $1`, [PROFILE_UPSERTS_DLQ_TOPIC]);
    await projector.handleBatch(batch);
    expect((await query.findByIdentifier('default', 'email', 'q@example.com'))?.attributes.n).toBe(1);
    expect(await checkpoint(0)).toBe(2);
    const waiting = await fx.dataSource.query(`SELECT key, headers FROM dead_letter_outbox`);
    expect(waiting).toEqual([{ key: 'default:email:y', headers: expect.objectContaining({ [DLQ_HEADER.sourceOffset]: '0', schema: 'profile-upsert.v1' }) }]);
    await projector.handleBatch(batch);
    expect(await fx.dataSource.query(`SELECT count(*)::int AS n FROM dead_letter_outbox`)).toEqual([{ n: 1 }]);

    // A restarted worker (new projector) publishes at its first assignment.
    await fx.eventLog.ensureTopics([{ name: PROFILE_UPSERTS_DLQ_TOPIC, partitions: 1 }]);
    const restarted = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, silentLogger, undefined, { deadLetters: 'outbox' });
    expect(await restarted.startOffset(PROFILE_UPSERTS_TOPIC, 0)).toBe(2);
    const dead = await deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0].headers).toMatchObject({ [DLQ_HEADER.sourceOffset]: '0', [DLQ_HEADER.sourcePartition]: '0', schema: 'profile-upsert.v1' });
    expect(await fx.dataSource.query(`SELECT count(*)::int AS n FROM dead_letter_outbox`)).toEqual([{ n: 0 }]);
  });
});
