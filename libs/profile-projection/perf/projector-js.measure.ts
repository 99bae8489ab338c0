// Not part of npm test. The projector's own JavaScript CPU per record, without PostgreSQL's noise (issue 12): the
// real ProfileProjector of each build (decode, rules, identity graph, write-back building, the store's parameter
// building and pg's encoding of them) against an in-memory stand-in for the database: the repository's lockAndLoad
// answers from memory (the store's row mapping is left out), its save runs for real and its rows are then kept.
// The stand-in's own work is timed apart and left out. Builds alternate run by run in one process (they must share
// the store's code for a fair comparison); each must leave the same state.
//   node scripts/build.js && BUILDS=/tmp/a/dist,dist RUNS=6 RESIDENT=0,1 node dist/libs/profile-projection/perf/projector-js.measure.js
// PEOPLE (20000), BATCH (2000), PROFILE=1: self time by function of one more run per build and mode (TOP rows).
import { createHash } from 'node:crypto';
import { Session } from 'node:inspector/promises';
import { resolve } from 'node:path';
import { generatePopulation } from '../../../bench/population';
import { batchOf, encodeUpserts } from '../../../test/support/projection-fixture';
import { selfTimes } from '../../profile-ingest/perf/cpu-profile.summary';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue: (v: unknown) => unknown };

const PEOPLE = Number(process.env.PEOPLE ?? 20000);
const B = Number(process.env.BATCH ?? 2000);
const RUNS = Number(process.env.RUNS ?? 6);
const MODES = (process.env.RESIDENT ?? '0,1').split(',').map((m) => m === '1');

type Row = Record<string, unknown>;
interface Slice {
  profiles: Row[];
  identifiers: Row[];
}
interface Changes {
  profiles: Row[];
  identifiers: Row[];
  merges: Array<{ tenant: string; loser: string; survivor: string }>;
  warnings: unknown[];
}

/**
 * The tables the projector writes, kept as JSON text per row. The store's repository is stubbed at its
 * methods (lockAndLoad answers from here, save runs for real — its parameter building is part of the cost —
 * and then hands its rows here), so the stand-in does not depend on the store's SQL.
 */
class FakeDatabase {
  readonly profiles = new Map<string, string>();
  readonly identifiers = new Map<string, string>();
  readonly byProfile = new Map<string, Set<string>>();
  readonly children = new Map<string, Set<string>>();
  warnings = 0;
  /** CPU µs spent standing in for PostgreSQL (left out of the projector's figure). */
  dbCpuUs = 0;

  timed<T>(work: () => T): T {
    const c0 = process.cpuUsage();
    try {
      return work();
    } finally {
      const c = process.cpuUsage(c0);
      this.dbCpuUs += c.user + c.system;
    }
  }

  async query(sql: string, params: unknown[] = []): Promise<unknown[]> {
    // What pg does with the parameters before sending them: part of the projector's cost.
    for (const p of params) prepareValue(p);
    if (sql.includes('WITH p AS')) return [{ updated_profiles: '0', updated_identifiers: '0' }];
    if (sql.includes('INSERT INTO consumer_offsets') && sql.includes('DO NOTHING')) return [{}]; // no checkpoint: every batch applies
    return []; // locks, SET LOCAL, erasures (none)
  }

  /** The slice lockAndLoad would return (profiles the keys and ids reach, their rows and the keys' rows), fresh objects. */
  load(keys: Array<{ tenant: string; type: string; value: string }>, ids: Array<{ tenant: string; id: string }>): Slice {
    const pids = new Set<string>();
    for (const k of keys) {
      const row = this.identifiers.get(`${k.tenant}\u0001${k.type}\u0001${k.value}`);
      if (row) pids.add(`${k.tenant}\u0001${(JSON.parse(row) as Row).profileId}`);
    }
    for (const z of ids) {
      const text = this.profiles.get(`${z.tenant}\u0001${z.id}`);
      if (!text) continue;
      pids.add(`${z.tenant}\u0001${z.id}`);
      const merged = (JSON.parse(text) as Row).mergedInto;
      if (merged) pids.add(`${z.tenant}\u0001${merged}`);
    }
    const profiles = [...pids].sort().flatMap((k) => (this.profiles.has(k) ? [JSON.parse(this.profiles.get(k)!) as Row] : []));
    const rowKeys = new Set<string>();
    for (const p of profiles) if (!p.mergedInto) for (const k of this.byProfile.get(`${p.tenant}\u0001${p.id}`) ?? []) rowKeys.add(k);
    for (const k of keys) {
      const key = `${k.tenant}\u0001${k.type}\u0001${k.value}`;
      if (this.identifiers.has(key)) rowKeys.add(key);
    }
    return { profiles, identifiers: [...rowKeys].map((k) => JSON.parse(this.identifiers.get(k)!) as Row) };
  }

  save(changes: Changes): void {
    const written = new Set<string>();
    for (const p of changes.profiles) {
      const key = `${p.tenant}\u0001${p.id}`;
      written.add(key);
      this.profiles.set(key, JSON.stringify(p));
    }
    for (const i of changes.identifiers) {
      const key = `${i.tenant}\u0001${i.type}\u0001${i.value}`;
      const old = this.identifiers.get(key);
      if (old) this.byProfile.get(`${i.tenant}\u0001${(JSON.parse(old) as Row).profileId}`)?.delete(key);
      this.identifiers.set(key, JSON.stringify(i));
      const owner = `${i.tenant}\u0001${i.profileId}`;
      if (!this.byProfile.has(owner)) this.byProfile.set(owner, new Set());
      this.byProfile.get(owner)!.add(key);
    }
    for (const m of changes.merges) {
      for (const key of this.children.get(`${m.tenant}\u0001${m.loser}`) ?? []) {
        const p = JSON.parse(this.profiles.get(key)!) as Row;
        if (p.mergedInto === m.loser && !written.has(key)) this.profiles.set(key, JSON.stringify({ ...p, mergedInto: m.survivor }));
      }
    }
    // merged_into → the profiles pointing at it (what the redirect above reads).
    for (const p of changes.profiles) {
      if (!p.mergedInto) continue;
      const parent = `${p.tenant}\u0001${p.mergedInto}`;
      if (!this.children.has(parent)) this.children.set(parent, new Set());
      this.children.get(parent)!.add(`${p.tenant}\u0001${p.id}`);
    }
    this.warnings += changes.warnings.length;
  }

  digest(): string {
    const h = createHash('md5');
    // Attribute order is not stored (jsonb): compared with sorted keys.
    const sorted = (o: Row) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
    for (const k of [...this.profiles.keys()].sort()) {
      const p = JSON.parse(this.profiles.get(k)!) as Row;
      h.update(JSON.stringify({ ...sorted(p), attributes: sorted(p.attributes as Row), versions: sorted(p.versions as Row) }));
    }
    for (const k of [...this.identifiers.keys()].sort()) h.update(JSON.stringify(sorted(JSON.parse(this.identifiers.get(k)!) as Row)));
    return `${this.profiles.size} profiles, ${this.identifiers.size} identifiers, ${this.warnings} warnings, ${h.digest('hex').slice(0, 12)}`;
  }
}

let current: FakeDatabase;

/** The build's repository answered by the current stand-in: lockAndLoad from memory, save for real then stored. */
function stubRepository(root: string): void {
  const { ProfileGraphRepository } = require(resolve(root, 'libs/store/src/repositories/profile-graph.repository.js'));
  const proto = ProfileGraphRepository.prototype as Record<string, (...args: never[]) => Promise<unknown>>;
  const save = proto.save;
  proto.lockAndLoad = async function (keys: never, ids: never) {
    return current.timed(() => current.load(keys, ids));
  };
  proto.save = async function (this: unknown, changes: Changes) {
    await save.call(this, changes as never);
    current.timed(() => current.save(changes));
  };
}

function fakeDataSource(db: FakeDatabase) {
  const manager = { query: (sql: string, params?: unknown[]) => db.query(sql, params) };
  const secret = Buffer.alloc(32, 7);
  return {
    query: async () => [{ value: secret }],
    createQueryRunner: () => ({
      manager,
      isTransactionActive: false,
      connect: async () => undefined,
      startTransaction: async () => undefined,
      commitTransaction: async () => undefined,
      rollbackTransaction: async () => undefined,
      release: async () => undefined,
    }),
  };
}

interface Build {
  root: string;
  Projector: new (...args: unknown[]) => { handleBatch(b: unknown): Promise<void> };
  rules: unknown;
  us: Map<string, number[]>;
}

function load(root: string): Build {
  stubRepository(root);
  const { ProfileProjector } = require(resolve(root, 'libs/profile-projection/src/profile-projector.service.js'));
  const { IdentifierRules } = require(resolve(root, 'libs/identity/src/identifier-rules.js'));
  return { root, Projector: ProfileProjector, rules: IdentifierRules.defaults(), us: new Map() };
}

type Batch = ReturnType<typeof batchOf>;

async function runOnce(b: Build, batches: Batch[], residentGraph: boolean): Promise<{ us: number; state: string }> {
  const db = new FakeDatabase();
  current = db;
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const tenants = { identifierRules: async () => b.rules, identifierRulesReadAt: () => undefined };
  const projector = new b.Projector(fakeDataSource(db), {}, tenants, silent, 'g', { residentGraph, deadLetters: 'log-transaction' });
  let records = 0;
  const c0 = process.cpuUsage();
  for (const batch of batches) {
    await projector.handleBatch(batch);
    records += batch.records.length;
  }
  const c = process.cpuUsage(c0);
  return { us: (c.user + c.system - db.dbCpuUs) / records, state: db.digest() };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const builds = (process.env.BUILDS ?? 'dist').split(',').map((r) => load(resolve(r)));
  const pop = generatePopulation({ people: PEOPLE, prefix: 'm', seed: 7, batchSize: 100 });
  const records = encodeUpserts(pop.items.map((i) => i.attributes));
  // Fresh Buffers per run: a batch is delivered once (its records are not decoded twice).
  const batchesOf = () => {
    const out: Batch[] = [];
    for (let i = 0; i < records.length; i += B) out.push(batchOf(0, records.slice(i, i + B), i));
    return out;
  };
  console.log(`${records.length} records, batches of ${B}; builds: ${builds.map((b) => b.root).join(', ')}`);
  for (const b of builds) for (const resident of MODES) await runOnce(b, batchesOf().slice(0, 4), resident); // warm-up
  for (let run = 0; run < RUNS; run++) {
    for (const resident of MODES) {
      const key = resident ? 'resident' : 'per-batch';
      let state: string | undefined;
      for (const b of run % 2 === 0 ? builds : [...builds].reverse()) {
        const batches = batchesOf();
        const r = await runOnce(b, batches, resident);
        b.us.set(key, [...(b.us.get(key) ?? []), r.us]);
        console.log(`run ${run} ${key.padEnd(9)} ${b.root}: ${r.us.toFixed(1)} µs JS/record; ${r.state}`);
        if (state !== undefined && state !== r.state) throw new Error(`${b.root} left another state: ${r.state} vs ${state}`);
        state = r.state;
      }
    }
  }
  for (const resident of MODES) {
    const key = resident ? 'resident' : 'per-batch';
    for (const b of builds) console.log(`median ${key.padEnd(9)} ${b.root}: ${median(b.us.get(key)!).toFixed(1)} µs JS/record (${b.us.get(key)!.length} runs: ${b.us.get(key)!.map((u) => u.toFixed(0)).join(' ')})`);
  }
  if (process.env.PROFILE) {
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    for (const resident of MODES) {
      for (const b of builds) {
        const batches = batchesOf();
        await session.post('Profiler.start');
        await runOnce(b, batches, resident);
        const { profile } = await session.post('Profiler.stop');
        const { totalMs, top } = selfTimes(profile as never, Number(process.env.TOP ?? 40));
        console.log(`profile ${resident ? 'resident' : 'per-batch'} ${b.root}: ${totalMs.toFixed(0)} ms sampled, self time:\n${top.join('\n')}`);
      }
    }
    session.disconnect();
  }
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
