// Not part of npm test. The per-item CPU of preparing POST /v3/profiles bodies — JSON.parse, validation and
// record encoding (PROFILE_UPSERT_INGEST.prepare), no HTTP, no log — on the bench population, for A/B of builds
// in one process, alternating (issue 12). Run:
//   node scripts/build.js && BUILDS=/tmp/before/dist,dist PEOPLE=100000 ROUNDS=6 node dist/libs/profile-ingest/perf/prepare.measure.js
// BUILDS: dist/ roots (default this checkout's); each is loaded as its own module graph. PROFILE=1 prints self
// time by function of one extra round of the last build.
import { Session } from 'node:inspector/promises';
import { resolve } from 'node:path';
import { generatePopulation } from '../../../bench/population';
import { selfTimes } from './cpu-profile.summary';

const PEOPLE = Number(process.env.PEOPLE ?? 100000);
const ROUNDS = Number(process.env.ROUNDS ?? 6);
const BATCH = Number(process.env.BATCH ?? 100);
const SEED = Number(process.env.SEED ?? 42);

interface Build {
  root: string;
  prepare: (text: string) => number;
  us: number[];
}

function load(root: string): Build {
  const { PROFILE_UPSERT_INGEST } = require(resolve(root, 'libs/profile-ingest/src/ingest-kinds.js'));
  const { IdentifierRules } = require(resolve(root, 'libs/identity/src/identifier-rules.js'));
  const rules = IdentifierRules.defaults();
  const fields = new Map();
  return {
    root,
    us: [],
    prepare(text) {
      const r = PROFILE_UPSERT_INGEST.prepare('tenant-a', JSON.parse(text), { rules, fields, receivedAt: new Date() });
      if (!r.ok) throw new Error(`${root}: refused ${JSON.stringify(r.detail).slice(0, 300)}`);
      return r.records.length;
    },
  };
}

function round(b: Build, texts: string[]): number {
  const c0 = process.cpuUsage();
  let n = 0;
  for (const t of texts) n += b.prepare(t);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

async function main(): Promise<void> {
  const roots = (process.env.BUILDS ?? resolve(__dirname, '../../..')).split(',');
  const builds = roots.map(load);
  const pop = generatePopulation({ people: PEOPLE, prefix: 'p', seed: SEED, batchSize: BATCH });
  const texts = pop.bodies.map((b) => b.json.toString('utf8'));
  console.log(`${texts.length} bodies, ${pop.items.length} items; builds: ${roots.join(', ')}`);
  for (const b of builds) round(b, texts.slice(0, 300)); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const b of r % 2 === 0 ? builds : [...builds].reverse()) {
      const us = round(b, texts);
      b.us.push(us);
      console.log(`round ${r} ${b.root}: ${us.toFixed(2)} µs CPU/item`);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const b of builds) console.log(`${b.root}: median ${median(b.us).toFixed(2)} µs CPU/item`);
  if (process.env.PROFILE) {
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    round(builds[builds.length - 1]!, texts);
    const { profile } = await session.post('Profiler.stop');
    const { totalMs, top } = selfTimes(profile as never, Number(process.env.TOP ?? 40));
    console.log(`profile, ${totalMs.toFixed(0)} ms sampled, self time:\n${top.join('\n')}`);
  }
}

void main();
