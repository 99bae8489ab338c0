// Issue 12: a replay keeps the identity graph in memory across batches (ResidentGraphs: no identifier
// locks, no graph loads). It must write exactly what per-batch loads write — merges, anonymous profiles,
// events and erasures included — and fall back to loads whenever memory may no longer match what is
// committed (an erasure, a retried transaction, a batch narrowed down after a data error).
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { buildErasureRecords, buildEventRecords, validateEventBody } from '@tessera/contracts';
import { RecordBatch } from '@tessera/event-log';
import { IdentifierRules } from '@tessera/identity';
import { IdentifierHasher, ProfileGraphRepository } from '@tessera/store';
import { batchOf, createProjectionFixture, encodeUpserts, ProjectionFixture, projectionState, silentLogger } from '@tessera/testing/projection-fixture';
import { generatePopulation } from '../../../bench/population';
import { ProfileProjector, ProjectorLogger, WriteBehindLostError } from './profile-projector.service';
import { ResidentGraphs } from './resident-graphs';

type Encoded = { key: string; value: string; headers: Record<string, string> };
const rules = IdentifierRules.defaults();
const BATCH = 150;

let loaded: ProjectionFixture;
let resident: ProjectionFixture;

beforeAll(async () => {
  [loaded, resident] = await Promise.all([createProjectionFixture(1), createProjectionFixture(1)]);
});

afterAll(async () => {
  await Promise.all([loaded?.close(), resident?.close()]);
});

beforeEach(async () => {
  for (const fx of [loaded, resident]) {
    await fx.dataSource.query(`TRUNCATE profiles, identifiers, identity_warnings, profile_events, idempotence_ids, consumer_offsets, dead_letters`);
  }
});

/** The bench's population (anonymous visitors who sign up later, people whose two profiles merge) and their events. */
function mixedLog(people: number): Encoded[] {
  const population = generatePopulation({ people, prefix: `r${randomUUID().slice(0, 8)}`, seed: 11, batchSize: 50 });
  const upserts = encodeUpserts(population.items.map((i) => i.attributes));
  const receivedAt = new Date();
  const v = validateEventBody(
    population.people.slice(0, 40).map((p, i) => ({ type: 'order', action: 'purchase', identifiers: p.vuid ? { vuid: p.vuid } : { email: p.email }, data: { n: i } })),
    rules,
    { receivedAt },
  );
  if (!v.ok) throw new Error(JSON.stringify(v));
  const events = buildEventRecords('default', v.items, receivedAt, rules);
  // Events interleaved with the upserts, so some of them arrive before the profile they name and create it.
  const log: Encoded[] = [];
  upserts.forEach((u, i) => {
    log.push(u);
    if (i % 10 === 5 && events.length) log.push(events.shift()!);
  });
  return [...log, ...events];
}

function batches(records: Encoded[]): RecordBatch[] {
  const out: RecordBatch[] = [];
  for (let i = 0; i < records.length; i += BATCH) out.push(batchOf(0, records.slice(i, i + BATCH), i));
  return out;
}

/** Applies every batch; a batch that throws is delivered again (as the transport does). */
async function applyAll(projector: ProfileProjector, all: RecordBatch[]): Promise<void> {
  for (const batch of all) {
    for (let attempt = 1; ; attempt++) {
      try {
        await projector.handleBatch(batch);
        break;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  }
}

function projectorOf(fx: ProjectionFixture, residentGraph: boolean, logger: ProjectorLogger = silentLogger, residentHeapBudgetBytes?: number, writeBehind = false) {
  // Flushes in statements of 50 profiles: several statements on both of the final flush's connections.
  return new ProfileProjector(fx.dataSource, fx.eventLog, fx.tenants, logger, `g-${randomUUID()}`, { residentGraph, residentHeapBudgetBytes, writeBehind, flushProfiles: 50 });
}

/** The same log as an erasure of one person after its first 200 records, with the erasure's person. */
async function logWithErasure(people: number) {
  const log = mixedLog(people);
  // One log, one secret: both databases hash identifiers with the same key (as one deployment does).
  const hasher = await IdentifierHasher.load(resident.dataSource);
  const [secret] = await resident.dataSource.query(`SELECT name, value FROM tessera_secrets`);
  await loaded.dataSource.query(`INSERT INTO tessera_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`, [secret.name, secret.value]);
  const person = JSON.parse(log[10].value) as { attributes: Record<string, string> };
  const [type, value] = person.attributes.email ? ['email', person.attributes.email] : ['vuid', person.attributes.vuid];
  const erasure = buildErasureRecords(
    'default',
    'gdpr',
    [{ requestId: randomUUID(), requester: 'dpo@example.com', identifierType: type, identifierValue: value, identifierHash: hasher.hash('default', type, value), profileId: null }],
    new Date(),
  );
  return { all: batches([...log.slice(0, 200), ...erasure, ...log.slice(200)]), value };
}

/** Fails the `nth` statement on `table` (counted from now) once, with PostgreSQL error `code`. */
async function failOnce(fx: ProjectionFixture, table: string, nth: number, code: string): Promise<() => Promise<void>> {
  await fx.dataSource.query(`
    CREATE SEQUENCE resident_spec_writes;
    CREATE FUNCTION resident_spec_fail() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF nextval('resident_spec_writes') = ${nth} THEN RAISE EXCEPTION 'injected failure' USING ERRCODE = '${code}'; END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER resident_spec_fail AFTER INSERT OR UPDATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION resident_spec_fail();`);
  return async () => {
    await fx.dataSource.query(`DROP TRIGGER resident_spec_fail ON ${table}; DROP FUNCTION resident_spec_fail(); DROP SEQUENCE resident_spec_writes`);
  };
}

/** The indexes of profiles and identifiers: name, object id and definition. */
async function indexesOf(fx: ProjectionFixture): Promise<Array<{ name: string; oid: number; definition: string }>> {
  return fx.dataSource.query(
    `SELECT indexrelid::regclass::text AS name, indexrelid::int AS oid, pg_get_indexdef(indexrelid) AS definition
       FROM pg_index WHERE indrelid IN ('profiles'::regclass, 'identifiers'::regclass) ORDER BY 1`,
  );
}

/** A projector logger keeping its info lines. */
function infoRecorder(infos: string[]): ProjectorLogger {
  return { ...silentLogger, info: (msg, extra) => void infos.push(`${msg} ${JSON.stringify(extra)}`) };
}

/** Both databases' projections, without what differs by construction (the consumer group name). */
async function bothStates() {
  return Promise.all([projectionState(loaded.dataSource), projectionState(resident.dataSource)]);
}

describe('given a replay that keeps the identity graph in memory', () => {
  it('when it applies anonymous visitors, sign-ups, merges and events, then it writes exactly what per-batch loads write, without loading a slice', async () => {
    const all = batches(mixedLog(600));
    await applyAll(projectorOf(loaded, false), all);
    const loads = jest.spyOn(ProfileGraphRepository.prototype, 'lockAndLoad');
    try {
      await applyAll(projectorOf(resident, true), all);
      expect(loads).not.toHaveBeenCalled();
    } finally {
      loads.mockRestore();
    }
    const [a, b] = await bothStates();
    expect(b.profiles.length).toBeGreaterThan(600);
    expect(b.profiles.some((p: { merged_into: string | null }) => p.merged_into !== null)).toBe(true);
    expect(b.events.length).toBe(40);
    expect(b).toEqual(a);
  });

  it('when an erasure comes in the middle, then it goes back to per-batch loads from there and still writes what loads write', async () => {
    const { all, value } = await logWithErasure(300);
    await applyAll(projectorOf(loaded, false), all);
    const infos: string[] = [];
    const logger = infoRecorder(infos);
    const loads = jest.spyOn(ProfileGraphRepository.prototype, 'lockAndLoad');
    try {
      await applyAll(projectorOf(resident, true, logger), all);
      expect(infos.filter((m) => m.startsWith('replay: identity graph no longer kept in memory'))).toEqual([expect.stringContaining('an erasure')]);
      // Batches after the erasure's one load their slices again.
      expect(loads.mock.calls.length).toBeGreaterThanOrEqual(all.length - Math.ceil(201 / BATCH) - 1);
    } finally {
      loads.mockRestore();
    }
    const [a, b] = await bothStates();
    expect(b.identifiers.some((i: { value: string }) => i.value === value)).toBe(false);
    expect(b).toEqual(a);
  });

  it('when a transaction is retried after a deadlock and a batch is narrowed down after a data error, then nothing applied twice or lost: the state equals per-batch loads', async () => {
    const all = batches(mixedLog(300));
    await applyAll(projectorOf(loaded, false), all);
    // Fails the 3rd and the 9th write-back of profiles once each: a deadlock (the transaction runner retries
    // the whole transaction) and a data error (the projector bisects the batch). nextval is not rolled back.
    await resident.dataSource.query(`
      CREATE SEQUENCE resident_spec_writes;
      CREATE FUNCTION resident_spec_fail() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE n bigint := nextval('resident_spec_writes');
      BEGIN
        IF n = 3 THEN RAISE EXCEPTION 'injected deadlock' USING ERRCODE = '40P01'; END IF;
        IF n = 9 THEN RAISE EXCEPTION 'injected data error' USING ERRCODE = '22023'; END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER resident_spec_fail AFTER INSERT OR UPDATE ON profiles FOR EACH STATEMENT EXECUTE FUNCTION resident_spec_fail();`);
    const infos: string[] = [];
    const logger = infoRecorder(infos);
    try {
      await applyAll(projectorOf(resident, true, logger), all);
    } finally {
      await resident.dataSource.query(`DROP TRIGGER resident_spec_fail ON profiles; DROP FUNCTION resident_spec_fail(); DROP SEQUENCE resident_spec_writes`);
    }
    expect(infos.filter((m) => m.startsWith('replay: identity graph no longer kept in memory'))).toEqual([expect.stringContaining('retried')]);
    const [a, b] = await bothStates();
    expect(b).toEqual(a);
  });

  it('when the heap is past its budget, then it loads per batch from the first batch on and writes the same', async () => {
    const all = batches(mixedLog(200));
    await applyAll(projectorOf(loaded, false), all);
    const infos: string[] = [];
    const loads = jest.spyOn(ProfileGraphRepository.prototype, 'lockAndLoad');
    try {
      await applyAll(projectorOf(resident, true, infoRecorder(infos), 1), all);
      expect(loads).toHaveBeenCalledTimes(all.length);
    } finally {
      loads.mockRestore();
    }
    expect(infos).toEqual([expect.stringMatching(/^replay: identity graph no longer kept in memory; loading per batch .*above the budget of 0 MiB/)]);
    const [a, b] = await bothStates();
    expect(b).toEqual(a);
  });
});

describe('given a replay that writes the graph behind (each row saved once, at the end)', () => {
  const writeBehindOf = (fx: ProjectionFixture, logger: ProjectorLogger = silentLogger, heapBudget?: number) => projectorOf(fx, true, logger, heapBudget, true);
  const count = async (fx: ProjectionFixture, table: string) => Number((await fx.dataSource.query(`SELECT count(*) AS n FROM ${table}`))[0].n);
  /** The log applied with per-batch loads to `loaded`, and by `projector` (written behind) to `resident`; finishReplay not yet called. */
  const appliedBothWays = async (all: RecordBatch[], projector = writeBehindOf(resident)) => {
    await applyAll(projectorOf(loaded, false), all);
    await applyAll(projector, all);
    return projector;
  };

  it('when every batch is applied, then only events and checkpoints are saved until finishReplay, which writes exactly what per-batch loads write', async () => {
    const all = batches(mixedLog(600));
    await applyAll(projectorOf(loaded, false), all);
    const indexesBefore = await indexesOf(resident);
    const projector = writeBehindOf(resident);
    const loads = jest.spyOn(ProfileGraphRepository.prototype, 'lockAndLoad');
    try {
      await applyAll(projector, all);
      expect(loads).not.toHaveBeenCalled();
    } finally {
      loads.mockRestore();
    }
    expect(await count(resident, 'profiles')).toBe(0);
    expect(await count(resident, 'identifiers')).toBe(0);
    expect(await count(resident, 'profile_events')).toBe(40);
    await projector.finishReplay();
    const [a, b] = await bothStates();
    expect(b.profiles.length).toBeGreaterThan(600);
    expect(b.profiles.some((p: { merged_into: string | null }) => p.merged_into !== null)).toBe(true);
    expect(b).toEqual(a);
    // Every row written once: no profile was updated after its insert.
    expect(await resident.dataSource.query(`SELECT count(*)::int AS n FROM profiles WHERE version <> 1`)).toEqual([{ n: 0 }]);
    // Bulk-loaded: the secondary indexes were built again after the rows (new objects), defined as before.
    const indexesAfter = await indexesOf(resident);
    expect(indexesAfter.map((i) => i.definition)).toEqual(indexesBefore.map((i) => i.definition));
    const rebuilt = indexesAfter.filter((i, n) => i.oid !== indexesBefore[n].oid).map((i) => i.name);
    expect(rebuilt).toEqual(expect.arrayContaining(['identifiers_profile', expect.stringMatching(/attributes/)]));
    expect(rebuilt).not.toContain('profiles_pkey');
  });

  it('when an erasure comes in the middle, then what memory held is saved before the erasure deletes from it, and the state equals per-batch loads', async () => {
    const { all, value } = await logWithErasure(300);
    await applyAll(projectorOf(loaded, false), all);
    const infos: string[] = [];
    const projector = writeBehindOf(resident, infoRecorder(infos));
    await applyAll(projector, all);
    await projector.finishReplay();
    expect(infos.filter((m) => m.startsWith('replay: identity graph no longer kept in memory'))).toEqual([expect.stringContaining('an erasure')]);
    const [a, b] = await bothStates();
    expect(b.identifiers.some((i: { value: string }) => i.value === value)).toBe(false);
    expect(b.profiles.length).toBeGreaterThan(300);
    expect(b).toEqual(a);
  });

  it('when the heap is past its budget, then resident mode ends before anything is held and the state equals per-batch loads', async () => {
    const all = batches(mixedLog(200));
    const projector = await appliedBothWays(all, writeBehindOf(resident, silentLogger, 1));
    await projector.finishReplay();
    const [a, b] = await bothStates();
    expect(b).toEqual(a);
  });

  it('when resident mode ends in the middle (rules changed), then what memory held is saved first and the state equals per-batch loads', async () => {
    const all = batches(mixedLog(300));
    await applyAll(projectorOf(loaded, false), all);
    const graphsFor = ResidentGraphs.prototype.graphsFor;
    let calls = 0;
    const spy = jest.spyOn(ResidentGraphs.prototype, 'graphsFor').mockImplementation(function (this: ResidentGraphs, rules) {
      return ++calls === 3 ? { reason: 'identifier rules of a tenant changed during the replay' } : graphsFor.call(this, rules);
    });
    const infos: string[] = [];
    try {
      const projector = writeBehindOf(resident, infoRecorder(infos));
      await applyAll(projector, all);
      await projector.finishReplay();
    } finally {
      spy.mockRestore();
    }
    expect(infos).toEqual([expect.stringContaining('rules of a tenant changed')]);
    const [a, b] = await bothStates();
    expect(b).toEqual(a);
  });

  /**
   * Applies the first batch, then the second with the first write of `table` failing once as a deadlock
   * would (its transaction is retried): the second batch and every later one fail with WriteBehindLostError.
   */
  async function expectSecondBatchLost(all: RecordBatch[], table: string): Promise<ProfileProjector> {
    const projector = writeBehindOf(resident);
    await projector.handleBatch(all[0]);
    const restore = await failOnce(resident, table, 1, '40P01');
    try {
      await expect(projector.handleBatch(all[1])).rejects.toBeInstanceOf(WriteBehindLostError);
    } finally {
      await restore();
    }
    await expect(projector.handleBatch(all[1])).rejects.toBeInstanceOf(WriteBehindLostError);
    return projector;
  }

  it('when the batch that flushed before an erasure is retried, then the flushed rows are known lost: WriteBehindLostError', async () => {
    // The second batch holds the erasure: the graph is flushed, then the erasure's first write fails.
    await expectSecondBatchLost((await logWithErasure(300)).all, 'erased_identifiers');
  });

  it('when a statement of the final flush meets a deadlock, then its connection retries it and the state equals per-batch loads', async () => {
    const all = batches(mixedLog(300));
    const projector = await appliedBothWays(all);
    const restore = await failOnce(resident, 'profiles', 3, '40P01');
    try {
      await projector.finishReplay();
    } finally {
      await restore();
    }
    const [a, b] = await bothStates();
    expect(b).toEqual(a);
  });

  it('when a transaction is retried after a deadlock, then it fails with WriteBehindLostError and refuses every later batch', async () => {
    const projector = await expectSecondBatchLost(batches(mixedLog(200)), 'consumer_offsets');
    await expect(projector.finishReplay()).rejects.toBeInstanceOf(WriteBehindLostError);
  });

  it('when the profiles\' transaction of the final flush fails before it sends anything, then the flush fails with WriteBehindLostError instead of waiting for ever', async () => {
    const projector = writeBehindOf(resident);
    await applyAll(projector, batches(mixedLog(100)));
    const drop = ProfileGraphRepository.prototype.dropSecondaryIndexesIfEmpty;
    const spy = jest.spyOn(ProfileGraphRepository.prototype, 'dropSecondaryIndexesIfEmpty').mockImplementation(function (this: ProfileGraphRepository, table) {
      return table === 'profiles' ? Promise.reject(new Error('connection lost')) : drop.call(this, table);
    });
    try {
      await expect(projector.finishReplay()).rejects.toBeInstanceOf(WriteBehindLostError);
    } finally {
      spy.mockRestore();
    }
  });

  it('when a reader holds profiles and then reads identifiers during the final flush, then neither waits for ever: the reader gets its answer, the flush completes', async () => {
    const all = batches(mixedLog(200));
    const projector = await appliedBothWays(all);
    const reader = new Client({ connectionString: resident.db.url });
    await reader.connect();
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT count(*) FROM profiles'); // holds a lock on profiles until COMMIT
      const flushing = projector.finishReplay();
      // The profiles' transaction now waits for the reader; the identifiers' has not taken its table.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { rows } = await reader.query('SELECT count(*)::int AS n FROM identifiers');
      expect(rows).toEqual([{ n: 0 }]);
      await reader.query('COMMIT');
      await flushing;
    } finally {
      await reader.end();
    }
    const [a, b] = await bothStates();
    expect(b).toEqual(a);
  });

  it('when a statement of the final flush fails for good, then it fails with WriteBehindLostError: the rows are not all saved', async () => {
    const all = batches(mixedLog(200));
    const projector = await appliedBothWays(all);
    const restore = await failOnce(resident, 'profiles', 2, '22023');
    try {
      await expect(projector.finishReplay()).rejects.toBeInstanceOf(WriteBehindLostError);
    } finally {
      await restore();
    }
    // Each table is saved in a transaction of its own: the one that failed holds nothing.
    const [a, b] = await bothStates();
    expect(Math.min(b.profiles.length, b.identifiers.length)).toBe(0);
    expect(a.profiles.length).toBeGreaterThan(200);
  });
});
