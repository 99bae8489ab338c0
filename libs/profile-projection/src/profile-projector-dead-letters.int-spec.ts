// Issue 9 item 6: dead letters have an id and a state in dead_letters, written with the checkpoint. A
// copy re-published by `dlq retry` (header dead-letter-id) resolves its dead letter when it applies and
// moves it back to `new` when it fails again — never a second dead letter; a replay adds none either.
import { DLQ_HEADER, PROFILE_UPSERTS_DLQ_TOPIC } from '@tessera/contracts';
import { DEAD_LETTER_ID_HEADER, DeadLettersRepository } from '@tessera/store';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture } from '@tessera/testing/projection-fixture';
import { DeadLetters1700000000400 } from '@tessera/store/migrations/1700000000400-dead-letters.migration';
import { ProfileProjector, ProjectorLogger } from './profile-projector.service';

let fx: ProjectionFixture;
let repo: DeadLettersRepository;
let warnings: Array<{ msg: string; extra?: Record<string, unknown> }>;
const logger: ProjectorLogger = { info: () => undefined, error: () => undefined, warn: (msg, extra) => warnings.push({ msg, extra }) };

beforeEach(async () => {
  fx = await createProjectionFixture(1);
  repo = new DeadLettersRepository(fx.dataSource);
  warnings = [];
});

afterEach(async () => {
  await fx.close();
});

async function dlqRecords(): Promise<Array<{ headers: Record<string, string> }>> {
  return fx.dataSource.query(`SELECT headers FROM log_records WHERE topic = $1 ORDER BY "offset"`, [PROFILE_UPSERTS_DLQ_TOPIC]);
}

const poisonOf = (t: { key: string; value: string; headers: Record<string, string> }) => ({ ...t, value: JSON.stringify({ ...JSON.parse(t.value), tenant: '' }) });

describe.each(['log-transaction', 'outbox'] as const)('given dead letters written via %s', (mode) => {
  it('when a poison record is dead-lettered, then one row (state new) and one DLQ record naming it, and one warn line without values', async () => {
    const projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, logger, undefined, { deadLetters: mode });
    const [good, template] = encodeUpserts([{ email: 'ok@example.com' }, { email: 'secret.person@example.com', n: 1 }]);
    await projector.handleBatch(batchOf(0, [good, poisonOf(template)]));

    const { rows } = await repo.list({ limit: 10 });
    expect(rows).toEqual([expect.objectContaining({ state: 'new', attempts: 1, source: 'tessera.profile-upserts.v1/0@1', schema: 'profile-upsert.v1', error: expect.stringMatching(/tenant/) })]);
    const dlq = await dlqRecords();
    expect(dlq.map((r) => [r.headers[DEAD_LETTER_ID_HEADER], r.headers[DLQ_HEADER.sourceOffset]])).toEqual([[rows[0].id, '1']]);
    expect(warnings).toEqual([
      { msg: 'record dead-lettered', extra: { deadLetterId: rows[0].id, topic: 'tessera.profile-upserts.v1', partition: 0, offset: 1, error: rows[0].error } },
    ]);
    expect(JSON.stringify(warnings)).not.toContain('secret.person');

    // A replay (checkpoint gone, same records again) dead-letters nothing more.
    await fx.dataSource.query(`TRUNCATE consumer_offsets`);
    await projector.handleBatch(batchOf(0, [good, poisonOf(template)]));
    expect((await repo.list({ limit: 10 })).rows).toEqual(rows);
    expect(await dlqRecords()).toHaveLength(1);
    expect(warnings).toHaveLength(1);
  });

  it('when the retried copy fails again, then its dead letter is new again with attempts 2, and no DLQ record is added; replaying the copy changes nothing', async () => {
    const projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, logger, undefined, { deadLetters: mode });
    const [template] = encodeUpserts([{ email: 'p@example.com' }]);
    const poison = poisonOf(template);
    await projector.handleBatch(batchOf(0, [poison]));
    const [letter] = (await repo.list({ limit: 10 })).rows;
    expect(await repo.markRetried()).toEqual([{ id: letter.id, source: letter.source }]);

    const copy = { ...poison, headers: { ...poison.headers, [DEAD_LETTER_ID_HEADER]: letter.id } };
    await projector.handleBatch(batchOf(0, [copy], 1));
    const [after] = (await repo.list({ limit: 10 })).rows;
    expect(after).toMatchObject({ id: letter.id, state: 'new', attempts: 2, source: letter.source });
    expect(await dlqRecords()).toHaveLength(1);
    expect(warnings.map((w) => [w.msg, w.extra?.deadLetterId, w.extra?.offset])).toEqual([
      ['record dead-lettered', letter.id, 0],
      ['retried dead letter failed again', letter.id, 1],
    ]);

    await fx.dataSource.query(`TRUNCATE consumer_offsets`);
    await projector.handleBatch(batchOf(0, [poison, copy]));
    expect((await repo.list({ limit: 10 })).rows).toEqual([after]);
    expect(await dlqRecords()).toHaveLength(1);
  });

  it('when the retried copy applies, then its dead letter is resolved; a discarded one stays discarded', async () => {
    const projector = new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, logger, undefined, { deadLetters: mode });
    const [a, b] = encodeUpserts([{ email: 'a@example.com' }, { email: 'b@example.com' }]);
    await projector.handleBatch(batchOf(0, [poisonOf(a), poisonOf(b)]));
    const [first, second] = (await repo.list({ limit: 10 })).rows;
    await repo.markRetried();
    expect(await repo.discard([second.id])).toEqual({ discarded: [second.id], unknown: [] });

    // The same records, now applicable (as after a fix), re-published with their dead letter ids.
    await projector.handleBatch(
      batchOf(0, [{ ...a, headers: { ...a.headers, [DEAD_LETTER_ID_HEADER]: first.id } }, { ...b, headers: { ...b.headers, [DEAD_LETTER_ID_HEADER]: second.id } }], 2),
    );
    expect((await repo.list({ limit: 10 })).rows.map((r) => [r.id, r.state])).toEqual([
      [first.id, 'resolved'],
      [second.id, 'discarded'],
    ]);
    expect(await repo.markRetried()).toEqual([]);
  });
});

describe('given a Postgres-log DLQ written before dead letters had ids', () => {
  it('when the migration runs, then each becomes a new dead letter by its source, without quoted input in its error', async () => {
    const [legacy] = encodeUpserts([{ email: 'old@example.com' }]);
    await fx.eventLog.produce(PROFILE_UPSERTS_DLQ_TOPIC, [
      {
        ...legacy,
        headers: {
          ...legacy.headers,
          [DLQ_HEADER.error]: 'record value is not valid JSON: Unexpected token \'x\', "{"email":"old@example.com" x" is not valid JSON',
          [DLQ_HEADER.sourceTopic]: 'tessera.profile-upserts.v1',
          [DLQ_HEADER.sourcePartition]: '0',
          [DLQ_HEADER.sourceOffset]: '7',
        },
      },
    ]);
    await fx.dataSource.query('DROP TABLE dead_letters');
    const runner = fx.dataSource.createQueryRunner();
    try {
      await new DeadLetters1700000000400().up(runner);
    } finally {
      await runner.release();
    }
    const { rows } = await repo.list({ limit: 10 });
    expect(rows).toEqual([expect.objectContaining({ state: 'new', attempts: 1, source: 'tessera.profile-upserts.v1/0@7', schema: 'profile-upsert.v1' })]);
    expect(rows[0].error).toMatch(/^record value is not valid JSON: Unexpected token '…', "…/);
    expect(rows[0].error).not.toContain('old@example.com');
    expect(await repo.markRetried()).toEqual([{ id: rows[0].id, source: 'tessera.profile-upserts.v1/0@7' }]);
  });
});
