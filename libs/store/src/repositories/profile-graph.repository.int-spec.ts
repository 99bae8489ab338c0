// Issue 12: save sends rows as typed arrays (pgArray) and, for a batch whose slice was loaded, UPDATEs the
// rows it found and INSERTs the others without ON CONFLICT. These prove the encoding is exact and that a
// row the load did not see is never overwritten: the batch is retried on a fresh snapshot instead.
import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '@tessera/testing/database';
import { createDataSource, runMigrationsLocked } from '../database/database';
import { runInTransaction, StaleSnapshotError } from '../transaction/transaction-runner';
import { pgArray } from './profile-graph.arrays';
import { emptyGraphChanges, FINE_LOCK_LIMIT, GraphChanges, ProfileGraphRepository } from './profile-graph.repository';

let db: TestDatabase;
let dataSource: DataSource;

beforeAll(async () => {
  db = await createTestDatabase('graph');
  dataSource = createDataSource(db.url, 4);
  await dataSource.initialize();
  await runMigrationsLocked(dataSource);
});

afterAll(async () => {
  await dataSource.destroy();
  await db.drop();
});

beforeEach(async () => {
  await dataSource.query(`TRUNCATE profiles, identifiers, consumer_offsets`);
});

const CHECKPOINT = { consumerGroup: 'g', topic: 't', partition: 0, nextOffset: 1 };
const profile = (id: string, name: string, ts: number): GraphChanges['profiles'][number] => ({
  tenant: 'acme',
  id,
  attributes: { first_name: name },
  versions: { first_name: [ts, `r-${ts}`] },
  createdTs: ts,
  createdRecordId: `r-${ts}`,
  updatedTs: ts,
  mergedInto: null,
});
const email = (value: string, profileId: string, ts: number): GraphChanges['identifiers'][number] => ({
  tenant: 'acme',
  type: 'email',
  value,
  profileId,
  confidence: 'high',
  firstSeen: ts,
  lastSeen: ts,
});

async function stored() {
  const profiles = await dataSource.query(
    `SELECT id, attributes, round(extract(epoch FROM updated_at) * 1000)::bigint AS updated_ms FROM profiles ORDER BY id`,
  );
  const identifiers = await dataSource.query(`SELECT value, profile_id, round(extract(epoch FROM last_seen) * 1000)::bigint AS last_ms FROM identifiers ORDER BY value`);
  return {
    profiles: profiles.map((p: { updated_ms: string }) => ({ ...p, updated_ms: Number(p.updated_ms) })),
    identifiers: identifiers.map((i: { last_ms: string }) => ({ ...i, last_ms: Number(i.last_ms) })),
  };
}

describe('pgArray', () => {
  it('given any strings (quotes, backslashes, braces, control characters, "NULL", emoji) and nulls, when sent as text[], then PostgreSQL reads the same values', async () => {
    // Any text PostgreSQL can hold (no NUL), built from the characters array syntax and JSON treat specially.
    const piece = fc.oneof(fc.constantFrom('"', '\\', '{', '}', ',', ' ', '\n', '\t', '\u0001', '\u007f', 'ë', '😀', 'NULL', 'null', 'a'), fc.string({ unit: 'grapheme' }));
    const text = fc.array(piece, { maxLength: 6 }).map((parts) => parts.join('').replace(/\u0000/g, ''));
    const value = fc.oneof(fc.constant(null), fc.constant(''), fc.constant('NULL'), text);
    const fast = (xs: Array<string | null>) => typeof pgArray(xs) === 'string';
    expect([fast(['a"b\\c', 'zoë 😀', null]), fast(['line\nbreak']), fast(['\ud800 lone'])]).toEqual([true, false, false]);
    await fc.assert(
      fc.asyncProperty(fc.array(value, { maxLength: 8 }), async (values) => {
        const [row] = await dataSource.query(`SELECT $1::text[] AS a`, [pgArray(values)]);
        expect(row.a).toEqual(values);
      }),
      { numRuns: 200 },
    );
  });

  it('given JSON texts and epoch milliseconds, when sent as jsonb[] and float8[], then they arrive unchanged', async () => {
    const docs = [{ a: 'x"y\\z', b: [1, null, { c: 'zoë\n' }] }, {}, { n: 1.5 }];
    const ms = [0, 1733233445123, 253402300799999];
    const [row] = await dataSource.query(`SELECT $1::jsonb[] AS docs, (SELECT array_agg(to_timestamp(m / 1000)) FROM unnest($2::float8[]) AS m) AS times`, [
      pgArray(docs.map((d) => JSON.stringify(d))),
      pgArray(ms),
    ]);
    expect(row.docs).toEqual(docs);
    expect((row.times as Date[]).map((t) => t.getTime())).toEqual(ms);
  });
});

describe('ProfileGraphRepository.save', () => {
  it('given a loaded slice, when rows it found and new rows are saved, then both are written', async () => {
    await runInTransaction(dataSource, async (m) => {
      const repo = new ProfileGraphRepository(m);
      await repo.save({ ...emptyGraphChanges(CHECKPOINT), profiles: [profile('p1', 'Ann', 1000)], identifiers: [email('ann@x.io', 'p1', 1000)] });
    });
    await runInTransaction(dataSource, async (m) => {
      const repo = new ProfileGraphRepository(m);
      const slice = await repo.lockAndLoad([{ tenant: 'acme', type: 'email', value: 'ann@x.io' }, { tenant: 'acme', type: 'email', value: 'bob@x.io' }], [{ tenant: 'acme', id: 'p2' }]);
      expect(slice.profiles.map((p) => p.id)).toEqual(['p1']);
      await repo.save({
        ...emptyGraphChanges(CHECKPOINT),
        profiles: [profile('p1', 'Annabel', 2000), profile('p2', 'Bob', 2000)],
        identifiers: [email('ann@x.io', 'p1', 2000), email('bob@x.io', 'p2', 2000)],
      });
    });
    expect(await stored()).toEqual({
      profiles: [
        { id: 'p1', attributes: { first_name: 'Annabel' }, updated_ms: 2000 },
        { id: 'p2', attributes: { first_name: 'Bob' }, updated_ms: 2000 },
      ],
      identifiers: [
        { value: 'ann@x.io', profile_id: 'p1', last_ms: 2000 },
        { value: 'bob@x.io', profile_id: 'p2', last_ms: 2000 },
      ],
    });
  });

  it('given a row stored that the load did not see, when the batch inserts it, then save throws StaleSnapshotError and the stored row is kept', async () => {
    await dataSource.query(`INSERT INTO profiles (tenant, id, created_at, created_record_id, updated_at, attributes) VALUES ('acme', 'p9', now(), 'r', now(), '{"first_name": "Kept"}')`);
    const attempt = runInTransaction(
      dataSource,
      async (m) => {
        const repo = new ProfileGraphRepository(m);
        await repo.lockAndLoad([], []); // found nothing: every row of the batch is new to it
        await repo.save({ ...emptyGraphChanges(CHECKPOINT), profiles: [profile('p9', 'Overwritten', 3000)] });
      },
      { attempts: 1 },
    );
    await expect(attempt).rejects.toBeInstanceOf(StaleSnapshotError);
    expect((await stored()).profiles).toEqual([expect.objectContaining({ id: 'p9', attributes: { first_name: 'Kept' } })]);
  });

  it('given a loaded row gone by the time of the save, when the batch updates it, then save throws StaleSnapshotError', async () => {
    await runInTransaction(dataSource, async (m) => {
      await new ProfileGraphRepository(m).save({ ...emptyGraphChanges(CHECKPOINT), profiles: [profile('p1', 'Ann', 1000)], identifiers: [email('gone@x.io', 'p1', 1000)] });
    });
    const attempt = runInTransaction(
      dataSource,
      async (m) => {
        const repo = new ProfileGraphRepository(m);
        const slice = await repo.lockAndLoad([{ tenant: 'acme', type: 'email', value: 'gone@x.io' }], []);
        expect(slice.identifiers).toHaveLength(1);
        await m.query(`DELETE FROM identifiers`); // stands for a writer that did not take the key's lock
        await repo.save({ ...emptyGraphChanges(CHECKPOINT), identifiers: [email('gone@x.io', 'p1', 2000)] });
      },
      { attempts: 1 },
    );
    await expect(attempt).rejects.toBeInstanceOf(StaleSnapshotError);
  });

  it('given no load in the transaction (a graph kept in memory), when rows are saved, then every row is upserted', async () => {
    await runInTransaction(dataSource, async (m) => {
      await new ProfileGraphRepository(m).save({ ...emptyGraphChanges(CHECKPOINT), profiles: [profile('p1', 'Ann', 1000)] });
    });
    await runInTransaction(dataSource, async (m) => {
      await new ProfileGraphRepository(m).save({ ...emptyGraphChanges(CHECKPOINT), profiles: [profile('p1', 'Annabel', 2000)] });
    });
    expect((await stored()).profiles).toEqual([{ id: 'p1', attributes: { first_name: 'Annabel' }, updated_ms: 2000 }]);
  });
});

describe('ProfileGraphRepository.lockAndLoad', () => {
  it('given people with two emails each, one merged away, when loaded under key locks and under the tenant lock (more than FINE_LOCK_LIMIT keys), then both slices hold the same rows', async () => {
    const people = FINE_LOCK_LIMIT;
    const merged = { ...profile('gone', 'Old', 500), mergedInto: 'p0' };
    await runInTransaction(dataSource, async (m) => {
      await new ProfileGraphRepository(m).save({
        ...emptyGraphChanges(CHECKPOINT),
        profiles: [...Array.from({ length: people }, (_, i) => profile(`p${i}`, `N${i}`, 1000 + i)), merged],
        identifiers: Array.from({ length: people }, (_, i) => [email(`a${i}@x.io`, `p${i}`, 1000 + i), email(`b${i}@x.io`, `p${i}`, 1000 + i)]).flat(),
      });
    });
    // The batch names one email per person (plus an unknown one) and the merged-away profile by id.
    const keys = [...Array.from({ length: people }, (_, i) => ({ tenant: 'acme', type: 'email', value: `a${i}@x.io` })), { tenant: 'acme', type: 'email', value: 'new@x.io' }];
    const load = (k: typeof keys) =>
      runInTransaction(dataSource, async (m) => {
        const repo = new ProfileGraphRepository(m);
        const slice = await repo.lockAndLoad(k, [{ tenant: 'acme', id: 'gone' }]);
        const lock = await m.query(`SELECT count(*)::int AS n FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND mode = 'ExclusiveLock'`);
        return { slice, exclusiveLocks: lock[0].n as number };
      });
    const underTenantLock = await load(keys);
    expect(keys.length).toBeGreaterThan(FINE_LOCK_LIMIT);
    expect(underTenantLock.exclusiveLocks).toBe(1); // the tenant's graph, not a lock per key
    // Under key locks: the same keys in pieces of FINE_LOCK_LIMIT at most.
    const pieces = [keys.slice(0, FINE_LOCK_LIMIT / 2), keys.slice(FINE_LOCK_LIMIT / 2)];
    const underKeyLocks = await Promise.all(pieces.map((piece) => load(piece)));
    expect(underKeyLocks[0].exclusiveLocks).toBe(FINE_LOCK_LIMIT / 2);
    const sorted = <T extends { tenant: string }>(rows: T[], key: (r: T) => string) => [...new Map(rows.map((r) => [key(r), r])).values()].sort((a, b) => key(a).localeCompare(key(b)));
    const profiles = (slices: Array<{ slice: { profiles: Array<{ tenant: string; id: string }> } }>) => sorted(slices.flatMap((s) => s.slice.profiles), (p) => p.id);
    const identifiers = (slices: Array<{ slice: { identifiers: Array<{ tenant: string; value: string }> } }>) => sorted(slices.flatMap((s) => s.slice.identifiers), (i) => i.value);
    expect(profiles([underTenantLock])).toEqual(profiles(underKeyLocks));
    expect(identifiers([underTenantLock])).toEqual(identifiers(underKeyLocks));
    expect(profiles([underTenantLock])).toHaveLength(people + 1);
    expect(identifiers([underTenantLock])).toHaveLength(2 * people);
  });
});

describe('ProfileGraphRepository.dropSecondaryIndexesIfEmpty', () => {
  const definitions = async (m: { query: DataSource['query'] }) =>
    (await m.query(`SELECT pg_get_indexdef(indexrelid) AS d FROM pg_index WHERE indrelid = 'profiles'::regclass ORDER BY 1`)).map((r: { d: string }) => r.d);

  it('given an empty table, when a bulk load drops its secondary indexes and builds them again, then only the primary key is there meanwhile and the same definitions after', async () => {
    const before = await definitions(dataSource);
    await runInTransaction(dataSource, async (m) => {
      const repo = new ProfileGraphRepository(m);
      const dropped = await repo.dropSecondaryIndexesIfEmpty('profiles');
      expect(dropped.length).toBe(before.length - 1);
      expect(await definitions(m)).toEqual([expect.stringContaining('profiles_pkey')]);
      await repo.save({ ...emptyGraphChanges(null), profiles: [profile('p1', 'Ann', 1000)] });
      await repo.createIndexes(dropped);
    });
    expect(await definitions(dataSource)).toEqual(before);
  });

  it('given a table with rows, then nothing is dropped', async () => {
    await runInTransaction(dataSource, (m) => new ProfileGraphRepository(m).save({ ...emptyGraphChanges(null), profiles: [profile('p1', 'Ann', 1000)] }));
    const before = await definitions(dataSource);
    await runInTransaction(dataSource, async (m) => {
      expect(await new ProfileGraphRepository(m).dropSecondaryIndexesIfEmpty('profiles')).toEqual([]);
      expect(await definitions(m)).toEqual(before);
    });
  });
});
