// Issue 12: a replay sorts the drained log in memory while it fits its budget, and in replay_records
// beyond it. Both must hand back the same records in the same order (record id, then partition and offset).
import { randomUUID } from 'node:crypto';
import { LogRecord } from '@tessera/event-log';
import { createProjectionFixture, ProjectionFixture } from '@tessera/testing/projection-fixture';
import { ReplayStaging, replaySortKey, StagedRecord } from './replay-staging';

let fx: ProjectionFixture;

beforeAll(async () => {
  fx = await createProjectionFixture(1);
});

afterAll(async () => {
  await fx?.close();
});

beforeEach(async () => {
  await fx.dataSource.query('TRUNCATE replay_records');
});

/** A UUID v7-like id whose order is `n`'s. */
const idOf = (n: number) => `0190${n.toString(16).padStart(4, '0')}-0000-7000-8000-${randomUUID().slice(-12)}`;

function recordOf(partition: number, offset: number, value: string | null, headers: Record<string, string> = { schema: 'profile-upsert.v1' }): LogRecord {
  return {
    topic: 't',
    partition,
    offset,
    key: `k-${partition}-${offset}`,
    value: value === null ? Buffer.alloc(0) : Buffer.from(value),
    headers,
    timestamp: new Date().toISOString(),
    tombstone: value === null || undefined,
  };
}

/** Three partitions whose records interleave by id; a tombstone, an undecodable value, an id not first. */
function drainedBatches(): LogRecord[][] {
  const p0 = [1, 4, 7, 9].map((n, i) => recordOf(0, i, `{"id":"${idOf(n)}","kind":"x","n":${n}}`));
  const p1 = [2, 3, 8].map((n, i) => recordOf(1, i, `{"id":"${idOf(n)}","kind":"x","n":${n}}`, { schema: 'event.v1', 'tessera-dead-letter-id': `dl-${n}` }));
  const p2 = [recordOf(2, 0, `{"kind":"x","id":"${idOf(5)}"}`), recordOf(2, 1, null), recordOf(2, 2, 'not json'), recordOf(2, 3, `{"id":"${idOf(6)}","n":6}`)];
  // Partition 1's batch is delivered twice (a redelivery): its records count once.
  return [p0.slice(0, 2), p1, p2, p1, p0.slice(2)];
}

async function readAll(staging: ReplayStaging, size: number): Promise<StagedRecord[]> {
  const out: StagedRecord[] = [];
  for await (const chunk of staging.inOrder(size)) {
    expect(chunk.length).toBeLessThanOrEqual(size);
    out.push(...chunk);
  }
  return out;
}

const comparable = (r: StagedRecord) => ({ ...r, value: r.value.toString('latin1') });

describe('given a replay that stages the drained log', () => {
  it('when the log fits its memory budget, then the records come back in record-id order, then partition and offset, each once', async () => {
    const staging = new ReplayStaging(fx.dataSource);
    for (const batch of drainedBatches()) await staging.add(batch);
    expect(staging.place).toBe('memory');
    expect(staging.describe()).toMatch(/^sorting in memory \(\d+ MiB of its \d+ MiB budget\)$/);
    const records = await readAll(staging, 4);
    // Records without a readable id first (partition, offset), then by id.
    expect(records.map((r) => [r.partition, r.offset])).toEqual([
      [2, 1],
      [2, 2],
      [0, 0],
      [1, 0],
      [1, 1],
      [0, 1],
      [2, 0],
      [2, 3],
      [0, 2],
      [1, 2],
      [0, 3],
    ]);
    expect(records.find((r) => r.partition === 2 && r.offset === 1)).toMatchObject({ tombstone: true, sortKey: '', value: Buffer.alloc(0) });
    expect(records.find((r) => r.partition === 1 && r.offset === 2)).toMatchObject({ key: 'k-1-2', headers: { schema: 'event.v1', 'tessera-dead-letter-id': 'dl-8' } });
    expect(JSON.parse(records[records.length - 1].value.toString()).n).toBe(9);
    expect(await fx.dataSource.query('SELECT count(*)::int AS n FROM replay_records')).toEqual([{ n: 0 }]);
    // Read again (a replay that starts over): the same records.
    expect((await readAll(staging, 100)).map(comparable)).toEqual(records.map(comparable));
  });

  it('when the log outgrows the budget, then everything goes to replay_records and comes back exactly as from memory', async () => {
    const inMemory = new ReplayStaging(fx.dataSource);
    const inTable = new ReplayStaging(fx.dataSource, 1500);
    const batches = drainedBatches();
    for (const batch of batches) await inMemory.add(batch);
    await inTable.add(batches[0]);
    expect(inTable.place).toBe('memory');
    for (const batch of batches.slice(1)) await inTable.add(batch);
    expect(inTable.place).toBe('table');
    expect(inTable.describe()).toBe('sorting in the replay_records table (the log outgrew the memory budget of 0 MiB)');
    expect(await fx.dataSource.query('SELECT count(*)::int AS n FROM replay_records')).toEqual([{ n: 11 }]);
    const fromTable = await readAll(inTable, 3);
    expect(fromTable.map(comparable)).toEqual((await readAll(inMemory, 3)).map(comparable));
  });

  it('when a batch\'s values are views of one buffer (side by side, or a few of a larger one), then they come back as from separate buffers', async () => {
    /** The batch with its values moved into one buffer, `spare` bytes of other data around them. */
    const inOneBuffer = (batch: LogRecord[], spare: number): LogRecord[] => {
      // Buffer.alloc: a buffer of its own (Buffer.concat of a few bytes would cut it from a shared pool).
      const all = Buffer.alloc(2 * spare + batch.reduce((sum, r) => sum + r.value.length, 0), 0x7b);
      let at = spare;
      for (const r of batch) at += r.value.copy(all, at);
      at = spare;
      return batch.map((r) => {
        const value = all.subarray(at, at + r.value.length);
        at += r.value.length;
        return { ...r, value };
      });
    };
    const separate = new ReplayStaging(fx.dataSource);
    const shared = new ReplayStaging(fx.dataSource);
    for (const [n, batch] of drainedBatches().entries()) {
      await separate.add(batch);
      // Side by side filling their buffer, or most of it (kept as a view), or a few values of a buffer ten times their size (copied).
      const bytes = batch.reduce((sum, r) => sum + r.value.length, 0);
      await shared.add(inOneBuffer(batch, [0, 8, 10 * bytes][n % 3]));
    }
    expect((await readAll(shared, 5)).map(comparable)).toEqual((await readAll(separate, 5)).map(comparable));
  });

  it('when a value starts with its id, then the sort key is read from the bytes; otherwise from a full parse, or empty', () => {
    const id = idOf(42);
    expect(replaySortKey(Buffer.from(`{"id":"${id}","tenant":"t"}`))).toBe(id);
    expect(replaySortKey(Buffer.from(`{"tenant":"t","id":"${id}"}`))).toBe(id);
    expect(replaySortKey(Buffer.from(`{"id":"${id.toUpperCase()}"}`))).toBe(id.toUpperCase());
    expect(replaySortKey(Buffer.from('{"id":42}'))).toBe('');
    expect(replaySortKey(Buffer.from('not json'))).toBe('');
    expect(replaySortKey(Buffer.alloc(0))).toBe('');
    expect(replaySortKey(null)).toBe('');
  });
});
