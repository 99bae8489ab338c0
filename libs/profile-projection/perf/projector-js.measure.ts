// Not part of npm test. The projector's own JavaScript CPU per record, without PostgreSQL's noise (issue 12): the
// real ProfileProjector of each build (decode, rules, graph load mapping, identity graph, write-back building, pg's
// parameter encoding) against an in-memory stand-in for the database that answers the store's statements like
// PostgreSQL would (rows as pg hands them over: jsonb parsed, bigints as strings). The stand-in's own work is
// timed apart and left out. Builds alternate run by run in one process; each must leave the same state.
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

interface StoredProfile {
  tenant: string;
  id: string;
  attributes: string;
  versions: string;
  created_ms: string;
  created_record_id: string;
  updated_ms: string;
  merged_into: string | null;
}
interface StoredIdentifier {
  tenant: string;
  type: string;
  value: string;
  profile_id: string;
  confidence: string;
  first_ms: string;
  last_ms: string;
}

/** The tables the projector writes, and the statements it sends, answered in memory. */
class FakeDatabase {
  readonly profiles = new Map<string, StoredProfile>();
  readonly identifiers = new Map<string, StoredIdentifier>();
  readonly byProfile = new Map<string, Set<string>>();
  warnings = 0;
  /** CPU µs spent standing in for PostgreSQL (left out of the projector's figure). */
  dbCpuUs = 0;

  async query(sql: string, params: unknown[] = []): Promise<unknown[]> {
    // What pg does with the parameters before sending them: part of the projector's cost.
    const wire = params.map((p) => prepareValue(p));
    const c0 = process.cpuUsage();
    try {
      return this.answer(sql, params, wire);
    } finally {
      const c = process.cpuUsage(c0);
      this.dbCpuUs += c.user + c.system;
    }
  }

  private answer(sql: string, params: unknown[], wire: unknown[]): unknown[] {
    if (sql.includes('WITH p AS')) return this.save(wire as string[]);
    if (sql.includes('FOR UPDATE OF p')) return this.loadProfiles(params as string[][]);
    if (sql.startsWith('SELECT i.tenant, i.type')) return this.loadIdentifiers(params as string[][]);
    if (sql.includes('consumer_offsets') && sql.startsWith('INSERT')) return [{}];
    return []; // checkpoint (none: every batch applies), locks, SET LOCAL, erasures (none)
  }

  private loadProfiles([kt, ktype, kv, zt, zid]: string[][]): unknown[] {
    const ids = new Set<string>();
    for (let i = 0; i < kt.length; i++) {
      const row = this.identifiers.get(`${kt[i]}\u0001${ktype[i]}\u0001${kv[i]}`);
      if (row) ids.add(`${row.tenant}\u0001${row.profile_id}`);
    }
    for (let i = 0; i < zt.length; i++) {
      const p = this.profiles.get(`${zt[i]}\u0001${zid[i]}`);
      if (!p) continue;
      ids.add(`${p.tenant}\u0001${p.id}`);
      if (p.merged_into) ids.add(`${p.tenant}\u0001${p.merged_into}`);
    }
    return [...ids].sort().flatMap((k) => {
      const p = this.profiles.get(k);
      return p ? [{ ...p, attributes: JSON.parse(p.attributes), versions: JSON.parse(p.versions) }] : [];
    });
  }

  private loadIdentifiers([kt, ktype, kv, pt, pid]: string[][]): unknown[] {
    const keys = new Set<string>();
    for (let i = 0; i < pt.length; i++) for (const k of this.byProfile.get(`${pt[i]}\u0001${pid[i]}`) ?? []) keys.add(k);
    for (let i = 0; i < kt.length; i++) {
      const k = `${kt[i]}\u0001${ktype[i]}\u0001${kv[i]}`;
      if (this.identifiers.has(k)) keys.add(k);
    }
    return [...keys].map((k) => ({ ...this.identifiers.get(k)! }));
  }

  private save(wire: string[]): unknown[] {
    const profiles = JSON.parse(wire[0]) as Array<Record<string, unknown>>;
    const written = new Set<string>();
    for (const p of profiles) {
      const key = `${p.tenant}\u0001${p.id}`;
      written.add(key);
      this.profiles.set(key, {
        tenant: p.tenant as string,
        id: p.id as string,
        attributes: JSON.stringify(p.attributes),
        versions: JSON.stringify(p.versions),
        created_ms: String(p.created_ms),
        created_record_id: p.created_record_id as string,
        updated_ms: String(p.updated_ms),
        merged_into: (p.merged_into as string | null) ?? null,
      });
    }
    for (const i of JSON.parse(wire[1]) as StoredIdentifier[]) {
      const key = `${i.tenant}\u0001${i.type}\u0001${i.value}`;
      const old = this.identifiers.get(key);
      if (old) this.byProfile.get(`${old.tenant}\u0001${old.profile_id}`)?.delete(key);
      this.identifiers.set(key, { ...i, first_ms: String(i.first_ms), last_ms: String(i.last_ms) });
      const owner = `${i.tenant}\u0001${i.profile_id}`;
      if (!this.byProfile.has(owner)) this.byProfile.set(owner, new Set());
      this.byProfile.get(owner)!.add(key);
    }
    for (const m of JSON.parse(wire[2]) as Array<{ tenant: string; loser: string; survivor: string }>) {
      for (const [key, p] of this.profiles) {
        if (p.tenant === m.tenant && p.merged_into === m.loser && !written.has(key)) p.merged_into = m.survivor;
      }
    }
    this.warnings += (JSON.parse(wire[3]) as unknown[]).length;
    return [{}];
  }

  digest(): string {
    const h = createHash('md5');
    // jsonb keeps no key order: compared with sorted keys.
    const sorted = (json: string) => JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(json) as object).sort(([a], [b]) => (a < b ? -1 : 1))));
    for (const k of [...this.profiles.keys()].sort()) {
      const p = this.profiles.get(k)!;
      h.update(JSON.stringify({ ...p, attributes: sorted(p.attributes), versions: sorted(p.versions) }));
    }
    for (const k of [...this.identifiers.keys()].sort()) h.update(JSON.stringify(this.identifiers.get(k)));
    return `${this.profiles.size} profiles, ${this.identifiers.size} identifiers, ${this.warnings} warnings, ${h.digest('hex').slice(0, 12)}`;
  }
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
  const { ProfileProjector } = require(resolve(root, 'libs/profile-projection/src/profile-projector.service.js'));
  const { IdentifierRules } = require(resolve(root, 'libs/identity/src/identifier-rules.js'));
  return { root, Projector: ProfileProjector, rules: IdentifierRules.defaults(), us: new Map() };
}

type Batch = ReturnType<typeof batchOf>;

async function runOnce(b: Build, batches: Batch[], residentGraph: boolean): Promise<{ us: number; state: string }> {
  const db = new FakeDatabase();
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const tenants = { identifierRules: async () => b.rules };
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
