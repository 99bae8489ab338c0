import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { BatchCollector, describeEventLogConformance, recordId, waitFor } from '../conformance/event-log.conformance';
import { openTestPool } from '@tessera/testing/database';
import { eventually } from '@tessera/testing/single-node-server';
import type { EventLog, RecordBatch } from '../event-log.port';
import { PostgresEventLog } from './postgres-event-log';
import { COMMIT_HANDLED_SQL } from './postgres-log.sql';
import { createPostgresLogTestDb, PostgresLogTestDb } from './testing/postgres-log-test-db';

let db: PostgresLogTestDb;
const run = randomBytes(3).toString('hex');
const quiet = { info: () => undefined, warn: () => undefined, error: (m: string, e?: unknown) => console.error(m, e) };

beforeAll(async () => {
  db = await createPostgresLogTestDb('evlog');
});
afterAll(async () => {
  await db?.drop();
});

const newLog = (extra: Partial<ConstructorParameters<typeof PostgresEventLog>[0]> = {}) =>
  new PostgresEventLog({ pool: db.pool, connectionString: db.url, logger: quiet, ...extra });

describeEventLogConformance('postgres', {
  create: async () => newLog(),
  topicName: (base) => `conformance.${base}.${run}`,
});

describe('PostgresEventLog (postgres specifics)', () => {
  const logs: EventLog[] = [];
  afterEach(async () => {
    await Promise.all(logs.splice(0).map((l) => l.close()));
  });
  const open = (extra: Partial<ConstructorParameters<typeof PostgresEventLog>[0]> = {}) => {
    const log = newLog(extra);
    logs.push(log);
    return log;
  };

  it('appends inside the caller\'s transaction: the records exist exactly when it commits, offsets stay contiguous', async () => {
    const log = open();
    const topic = `in-tx.${run}`;
    await log.ensureTopics([{ name: topic, partitions: 1 }]);
    const client = await db.pool.connect();
    const query = async (sql: string, params: unknown[]) => (await client.query(sql, params)).rows;
    try {
      await client.query('BEGIN');
      expect(await log.appendInTransaction(query, topic, [{ key: 'k', value: 'rolled back' }])).toEqual([{ topic, partition: 0, offset: 0 }]);
      await client.query('ROLLBACK');
      expect(await log.endOffsets(topic)).toEqual([{ partition: 0, offset: 0 }]);

      await client.query('BEGIN');
      const produced = await log.appendInTransaction(query, topic, [{ key: 'k', value: 'one', headers: { h: '1' } }, { key: 'k', value: 'two' }]);
      expect(produced.map((r) => r.offset)).toEqual([0, 1]);
      // Not visible to others before the commit.
      expect(await log.endOffsets(topic)).toEqual([{ partition: 0, offset: 0 }]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect(await log.produce(topic, [{ key: 'k', value: 'three' }])).toEqual([{ topic, partition: 0, offset: 2 }]);
    const { rows } = await db.pool.query(`SELECT "offset", value, headers FROM log_records WHERE topic = $1 ORDER BY "offset"`, [topic]);
    expect(rows.map((r) => [Number(r.offset), r.value.toString(), r.headers])).toEqual([
      [0, 'one', { h: '1' }],
      [1, 'two', {}],
      [2, 'three', {}],
    ]);
  });

  it('hands back values byte for byte, the stored time in toISOString form and one frozen headers object per distinct set', async () => {
    const log = open();
    const topic = `rows.${run}`;
    await log.ensureTopics([{ name: topic, partitions: 1 }]);
    // Every byte value (not UTF-8), longer than a base64 line (76 characters), and an empty value.
    const binary = Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 7) % 256));
    await log.produce(topic, [
      { key: 'a', value: binary, headers: { schema: 's.v1', n: '1' } },
      { key: 'b', value: 'plain', headers: { schema: 's.v1', n: '1' } },
      { key: 'c', value: '', headers: { schema: 's.v1', n: '2' } },
      { key: 'd', value: 'no headers' },
    ]);
    // A time with microseconds: the record's time is cut to milliseconds, as Date would.
    await db.pool.query(`UPDATE log_records SET ts = '2026-12-05 07:08:09.123999+00' WHERE topic = $1 AND "offset" = 0`, [topic]);
    const stored = await db.pool.query<{ ts: Date }>(`SELECT ts FROM log_records WHERE topic = $1 ORDER BY "offset"`, [topic]);

    const batches: RecordBatch[] = [];
    await log.scan(topic, async (batch) => void batches.push(batch));
    const read = batches.flatMap((b) => b.records);
    expect(read.map((r) => r.value.equals(binary))).toEqual([true, false, false, false]);
    expect(read.slice(1).map((r) => r.value.toString())).toEqual(['plain', '', 'no headers']);
    expect(read.map((r) => r.timestamp)).toEqual(stored.rows.map((r) => r.ts.toISOString()));
    expect(read[0].timestamp).toBe('2026-12-05T07:08:09.123Z');
    expect(read.map((r) => r.headers)).toEqual([{ schema: 's.v1', n: '1' }, { schema: 's.v1', n: '1' }, { schema: 's.v1', n: '2' }, {}]);
    expect(read[0].headers).toBe(read[1].headers);
    expect(Object.isFrozen(read[0].headers) && Object.isFrozen(read[2].headers)).toBe(true);

    const consumed = new BatchCollector();
    const handle = await log.consume({ groupId: `rows-${run}`, topics: [topic], fromBeginning: true, handleBatch: consumed.handleBatch });
    try {
      await waitFor(() => consumed.records.length === 4, 'the four records consumed', 10_000);
    } finally {
      await handle.stop();
    }
    expect(consumed.records.map((r) => [r.key, r.value.toString('base64'), r.headers, r.timestamp])).toEqual(read.map((r) => [r.key, r.value.toString('base64'), r.headers, r.timestamp]));
  });

  it('keeps offsets contiguous, without gaps or duplicates, under concurrent producers', async () => {
    const log = open();
    const topic = `concurrent.${run}`;
    await log.ensureTopics([{ name: topic, partitions: 4 }]);
    const producers = 10;
    const calls = 15;
    const results = await Promise.all(
      Array.from({ length: producers }, async (_, p) => {
        const mine = [];
        for (let c = 0; c < calls; c++) {
          const batch = Array.from({ length: 40 }, (_, i) => ({ key: `key-${(p * 7 + c * 3 + i) % 23}`, value: `${p}/${c}/${i}` }));
          mine.push(...(await log.produce(topic, batch)).map((r, i) => ({ ...r, value: batch[i]!.value })));
        }
        return mine;
      }),
    );
    const all = results.flat();
    expect(all).toHaveLength(producers * calls * 40);
    expect(new Set(all.map(recordId)).size).toBe(all.length);
    const ends = await log.endOffsets(topic);
    for (const { partition, offset } of ends) {
      const offsets = all.filter((r) => r.partition === partition).map((r) => r.offset).sort((a, b) => a - b);
      expect(offsets).toEqual(Array.from({ length: offset }, (_, i) => i));
    }
    // What was acknowledged is what is stored.
    const { rows } = await db.pool.query<{ partition: number; offset: string; value: Buffer }>(
      'SELECT partition, "offset", value FROM log_records WHERE topic = $1',
      [topic],
    );
    const stored = new Map(rows.map((r) => [`${r.partition}:${r.offset}`, r.value.toString()]));
    for (const r of all) expect(stored.get(recordId(r))).toBe(r.value);
  });

  it('keeps offsets contiguous and record times ordered when separate adapters (processes) append to the same partitions', async () => {
    // Each adapter merges only its own calls: four adapters on their own pools race for the partition locks,
    // so every append statement may find the allocator moved since its snapshot.
    const topic = `adapters.${run}`;
    const pools = Array.from({ length: 4 }, () => openTestPool(db.url, 3));
    try {
      const adapters = pools.map((pool) => open({ pool }));
      await adapters[0]!.ensureTopics([{ name: topic, partitions: 3 }]);
      const results = await Promise.all(
        adapters.flatMap((log, a) =>
          Array.from({ length: 3 }, async (_, lane) => {
            const mine: Array<{ partition: number; offset: number; value: string }> = [];
            for (let c = 0; c < 12; c++) {
              const batch = Array.from({ length: 25 }, (_, i) => ({ key: `k-${(a + c + i) % 11}-é`, value: `${a}/${lane}/${c}/${i}` }));
              mine.push(...(await log.produce(topic, batch)).map((r, i) => ({ partition: r.partition, offset: r.offset, value: batch[i]!.value })));
            }
            return mine;
          }),
        ),
      );
      const all = results.flat();
      expect(all).toHaveLength(4 * 3 * 12 * 25);
      for (const { partition, offset } of await adapters[0]!.endOffsets(topic)) {
        const offsets = all.filter((r) => r.partition === partition).map((r) => r.offset).sort((a, b) => a - b);
        expect(offsets).toEqual(Array.from({ length: offset }, (_, i) => i));
      }
      const { rows } = await db.pool.query<{ partition: number; offset: string; key: string; value: Buffer; ts: Date }>(
        'SELECT partition, "offset", key, value, ts FROM log_records WHERE topic = $1 ORDER BY partition, "offset"',
        [topic],
      );
      const stored = new Map(rows.map((r) => [`${r.partition}:${r.offset}`, r.value.toString()]));
      for (const r of all) expect(stored.get(`${r.partition}:${r.offset}`)).toBe(r.value);
      expect(rows.every((r) => /^k-\d+-é$/.test(r.key))).toBe(true);
      // The record time never goes backwards along a partition's offsets.
      for (let i = 1; i < rows.length; i++) {
        if (rows[i]!.partition === rows[i - 1]!.partition) expect(rows[i]!.ts.getTime()).toBeGreaterThanOrEqual(rows[i - 1]!.ts.getTime());
      }
    } finally {
      await Promise.all(logs.splice(0).map((l) => l.close()));
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('fails only the bad call when concurrent produce calls share a transaction', async () => {
    const log = open();
    const topic = `merged.${run}`;
    await log.ensureTopics([{ name: topic, partitions: 3 }]);
    const calls = Array.from({ length: 12 }, (_, c) =>
      log.produce(
        topic,
        Array.from({ length: 20 }, (_, i) => ({ key: c === 5 && i === 3 ? 'bad\u0000key' : `k${c}-${i}`, value: `${c}/${i}` })),
      ),
    );
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => s.status)).toEqual(settled.map((_, c) => (c === 5 ? 'rejected' : 'fulfilled')));
    const ends = await log.endOffsets(topic);
    expect(ends.reduce((n, e) => n + e.offset, 0)).toBe(11 * 20);
    const ok = settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
    expect(new Set(ok.map(recordId)).size).toBe(11 * 20);
  });

  it('rejects unknown topics and partitions', async () => {
    const log = open();
    await expect(log.produce(`missing.${run}`, [{ key: 'k', value: 'v' }])).rejects.toThrow(/unknown topic/);
    await log.ensureTopics([{ name: `small.${run}`, partitions: 2 }]);
    await expect(log.produce(`small.${run}`, [{ key: 'k', value: 'v', partition: 2 }])).rejects.toThrow(/partition 2/);
    await expect(log.endOffsets(`missing.${run}`)).rejects.toThrow(/unknown topic/);
  });

  it('refuses to seek a group that has running members', async () => {
    const log = open();
    const topic = `seek-live.${run}`;
    await log.ensureTopics([{ name: topic, partitions: 1 }]);
    const consumer = await log.consume({ groupId: `seek-live-${run}`, topics: [topic], handleBatch: async () => undefined });
    await expect(log.seek(`seek-live-${run}`, topic, 'beginning')).rejects.toThrow(/running member/);
    await consumer.stop();
    await expect(log.seek(`seek-live-${run}`, topic, 'beginning')).resolves.toBeUndefined();
  });

  it('commits a handled batch\'s offset without waiting for the WAL flush — for that commit alone — and only for the owning generation', async () => {
    const group = `no-flush-wait.${run}`;
    const client = await db.pool.connect();
    const setting = async () => (await client.query(`SELECT current_setting('synchronous_commit') AS s`)).rows[0].s;
    let broken = false;
    try {
      await client.query(`INSERT INTO log_group_assignments (group_id, topic, partition, member_id, generation) VALUES ($1, 't', 0, 'm', 7)`, [group]);
      const before = await setting();
      expect(before).not.toBe('off');
      await client.query('BEGIN');
      broken = true;
      expect((await client.query(COMMIT_HANDLED_SQL, [group, 't', 0, 7, 42])).rowCount).toBe(1);
      expect(await setting()).toBe('off');
      await client.query('COMMIT');
      broken = false;
      expect(await setting()).toBe(before);
      // A member of an older generation is fenced, as with COMMIT_SQL.
      expect((await client.query(COMMIT_HANDLED_SQL, [group, 't', 0, 6, 99])).rowCount).toBe(0);
      expect((await client.query(`SELECT next_offset FROM log_group_offsets WHERE group_id = $1`, [group])).rows).toEqual([{ next_offset: '42' }]);
    } finally {
      client.release(broken); // a client left inside its transaction is not returned to the pool
    }
  });

  it('reads the next batch while one is handled: records appended meanwhile come in a later batch, and a batch that fails comes back whole', async () => {
    // A poll interval far beyond the test's wait: nothing here may depend on the slow fallback poll.
    const log = open({ pollIntervalMs: 600_000 });
    const topic = `ahead.${run}`;
    await log.ensureTopics([{ name: topic, partitions: 1 }]);
    await log.produce(topic, Array.from({ length: 6 }, (_, i) => ({ key: 'k', value: `early${i}` })));
    const seen: string[][] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let failOnce = true;
    const consumer = await log.consume({
      groupId: `ahead-${run}`,
      topics: [topic],
      maxBatchRecords: 4,
      handleBatch: async (batch) => {
        seen.push(batch.records.map((r) => String(r.value)));
        if (seen.length === 1) await held; // the read ahead (records 4–5) runs now
        if (batch.records.some((r) => String(r.value) === 'early4') && failOnce) {
          failOnce = false;
          throw new Error('handler fails once');
        }
      },
    });
    await waitFor(() => seen.length === 1, 'first batch');
    await new Promise((r) => setTimeout(r, 200)); // the read ahead has returned records 4–5 by now
    await log.produce(topic, [{ key: 'k', value: 'late0' }, { key: 'k', value: 'late1' }]);
    release();
    await waitFor(() => seen.flat().includes('late1'), 'the late records', 30_000);
    await consumer.stop();
    expect(seen).toEqual([
      ['early0', 'early1', 'early2', 'early3'],
      ['early4', 'early5'], // read while the first was handled, before the late records existed; fails once
      // delivered again from its start (the read ahead after it is dropped), now with the late records
      ['early4', 'early5', 'late0', 'late1'],
    ]);
  });

  it('never handles two batches of one partition at once, across hand-overs', async () => {
    const log = open();
    const other = open();
    const topic = `serial.${run}`;
    await log.ensureTopics([{ name: topic, partitions: 2 }]);
    const groupId = `serial-${run}`;
    const busy = new Set<number>();
    let overlaps = 0;
    const handle = (collector: BatchCollector) => async (batch: Parameters<BatchCollector['handleBatch']>[0]) => {
      if (busy.has(batch.partition)) overlaps++;
      busy.add(batch.partition);
      await new Promise((r) => setTimeout(r, 15));
      busy.delete(batch.partition);
      await collector.handleBatch(batch);
    };
    const ca = new BatchCollector();
    const cb = new BatchCollector();
    const produced = await log.produce(topic, Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
    const a = await log.consume({ groupId, topics: [topic], maxBatchRecords: 5, handleBatch: handle(ca) });
    const b = await other.consume({ groupId, topics: [topic], maxBatchRecords: 5, handleBatch: handle(cb) });
    await waitFor(() => a.assignments().length > 0 && b.assignments().length > 0, 'a split');
    await a.stop();
    await waitFor(() => new Set([...ca.ids(), ...cb.ids()]).size === produced.length, 'all records');
    await b.stop();
    expect(overlaps).toBe(0);
    // A clean stop commits before it lets go: the survivor redelivers nothing.
    expect(ca.records.length + cb.records.length).toBe(produced.length);
  });

  it('hands the partitions of a member whose lock session dies to the survivor, and rejoins it after reconnecting', async () => {
    // Member A connects its lock session as a role we can lock out, so it stays "dead" until we let it back in.
    const role = `evlog_member_${run}`;
    const admin = new Client({ connectionString: db.url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
      await admin.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`);
      const url = new URL(db.url);
      url.username = role;
      url.password = 'pw';
      const log = open();
      const topic = `takeover.${run}`;
      await log.ensureTopics([{ name: topic, partitions: 4 }]);
      const dying = open({ connectionString: url.toString() });
      const groupId = `takeover-${run}`;
      const ca = new BatchCollector({ delayMs: 5 });
      const cb = new BatchCollector({ delayMs: 5 });
      const a = await dying.consume({ groupId, topics: [topic], maxBatchRecords: 10, handleBatch: ca.handleBatch });
      const b = await log.consume({ groupId, topics: [topic], maxBatchRecords: 10, handleBatch: cb.handleBatch });
      const owned = (h: typeof a) => h.assignments().flatMap((x) => x.partitions);
      await waitFor(() => owned(a).length === 2 && owned(b).length === 2, 'a 2/2 split');
      const first = await log.produce(topic, Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: `first-${i}` })));
      await waitFor(() => new Set([...ca.ids(), ...cb.ids()]).size === first.length, 'the first records');

      await admin.query(`ALTER ROLE ${role} NOLOGIN`);
      const killedAt = Date.now();
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role]);
      await waitFor(() => owned(b).length === 4, 'the survivor to own all 4 partitions', 10_000);
      expect(Date.now() - killedAt).toBeLessThan(5_000);
      expect(owned(a)).toEqual([]);
      const second = await log.produce(topic, Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: `second-${i}` })));
      await waitFor(() => second.every((r) => cb.ids().has(recordId(r))), 'the survivor to consume the new records');

      await admin.query(`ALTER ROLE ${role} LOGIN`);
      await waitFor(() => owned(a).length === 2 && owned(b).length === 2, 'A to reconnect and get its share back', 20_000);
      const third = await log.produce(topic, Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: `third-${i}` })));
      const seen = () => new Set([...ca.ids(), ...cb.ids()]);
      await waitFor(() => third.every((r) => seen().has(recordId(r))), 'the third records');
      expect(ca.records.some((r) => r.value.toString().startsWith('third-'))).toBe(true);
      await Promise.all([a.stop(), b.stop()]);
      const lag = await log.lag(groupId, topic);
      expect(lag.every((l) => l.lag === 0)).toBe(true);
    } finally {
      await Promise.all(logs.splice(0).map((l) => l.close()));
      await admin.query(`DROP OWNED BY ${role}`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await admin.end();
    }
  });

  it('keeps consuming when pooled connections are killed', async () => {
    // The log's own idle-error handler is removed at close, while connections killed above may still report.
    const pool = openTestPool(db.url, 4);
    const errors: string[] = [];
    const log = open({ pool, logger: { ...quiet, warn: (m: string) => errors.push(m) } });
    try {
      const topic = `resilient.${run}`;
      await log.ensureTopics([{ name: topic, partitions: 2 }]);
      const collector = new BatchCollector({ delayMs: 5 });
      const consumer = await log.consume({ groupId: `resilient-${run}`, topics: [topic], maxBatchRecords: 20, handleBatch: collector.handleBatch });
      const first = await log.produce(topic, Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `a${i}` })));
      await waitFor(() => collector.ids().size >= first.length, 'first records');
      const admin = new Client({ connectionString: db.url });
      await admin.connect();
      // Every connection of this database except ours: the pool's and the lock session.
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
      await admin.end();
      // A client retries a refused append; each of the pool's killed connections can refuse one until the pool drops it.
      const second = await eventually(() => log.produce(topic, Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `b${i}` }))), 5_000, 50);
      await waitFor(() => second.every((r) => collector.ids().has(recordId(r))), 'records after the connections were killed', 20_000);
      await consumer.stop();
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await log.close();
      await pool.end();
    }
  });
});
