// Not part of npm test. POST /v3/profiles against the BUILT single-node server, started as the bench starts it
// (startSingleNode: embedded PostgreSQL, Postgres log, consumers running, LOG_LEVEL=warn), the projector paused
// by ProjectorPause as in the bench's ingest phase (issue 12). Run:
//   node scripts/build.js && PEOPLE=20000 ROUNDS=4 node dist/libs/profile-ingest/perf/ingest-server.measure.js
// SERVERS=a.js,b.js runs one server per built entry point (e.g. a copy of dist/ before a change) and alternates
// rounds between them (CPU per item of the whole process and of its main thread, the event loop): A/B of two builds (`main.js|TESSERA_INGEST_WORKERS=0`: with that environment), CPU per item of each server process (/proc, all its threads; not its
// PostgreSQL) — that holds on a shared machine, items/s does not. PAUSE=0 leaves the projector running;
// SERVER_ENV='{"K":"v"}' adds environment; WARM=0 starts the clock on a cold server (as the bench does); PROFILE=dir writes one CPU profile per server (an extra round) there
// and prints self time by function (top TOP).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generatePopulation } from '../../../bench/population';
import { embeddedDatabaseUrl, ProjectorPause } from '../../../bench/pg-direct';
import { startSingleNode, type SingleNode } from '../../../test/support/single-node-server';
import { forkHttpPoster, type Poster } from './http-load.client';
import { selfTimes } from './cpu-profile.summary';

const PEOPLE = Number(process.env.PEOPLE ?? 20000);
const ROUNDS = Number(process.env.ROUNDS ?? 4);
const CONC = Number(process.env.CONC ?? 50);
const BATCH = Number(process.env.BATCH ?? 100);
const SEED = Number(process.env.SEED ?? 42);
const TOP = Number(process.env.TOP ?? 40);
const PROFILE = process.env.PROFILE;
const WARM = process.env.WARM !== '0';
const WRAPPER = join(__dirname, 'profiled-server.main.js');
const DEFAULT_MAIN = resolve(__dirname, '../../../apps/tessera/src/main.js');

interface Target {
  label: string;
  server: SingleNode;
  post: Poster;
  pause?: ProjectorPause;
  cpuUsPerItem: number[];
  mainUsPerItem: number[];
  itemsPerSec: number[];
}

/** utime + stime of a process (all threads), in µs; of its main thread (the event loop) with `thread`. */
function cpuUs(pid: number, thread = false): number {
  const stat = readFileSync(thread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
}

async function round(t: Target, items: number[], from: number, to: number) {
  const pid = t.server.process.pid!;
  const c0 = cpuUs(pid);
  const m0 = cpuUs(pid, true);
  const t0 = performance.now();
  const statuses = await t.post(from, to);
  const wallMs = performance.now() - t0;
  const cpu = cpuUs(pid) - c0;
  const main = cpuUs(pid, true) - m0;
  const n = items.slice(from, to).reduce((a, b) => a + b, 0);
  if (Object.keys(statuses).join() !== '202') throw new Error(`${t.label}: answers ${JSON.stringify(statuses)}`);
  return { itemsPerSec: Math.round((n * 1000) / wallMs), cpuUsPerItem: +(cpu / n).toFixed(2), mainUsPerItem: +(main / n).toFixed(2) };
}

async function main(): Promise<void> {
  const mains = (process.env.SERVERS ?? DEFAULT_MAIN).split(',').map((m) => resolve(m));
  const extraEnv = JSON.parse(process.env.SERVER_ENV ?? '{}') as Record<string, string>;
  const pop = generatePopulation({ people: PEOPLE, prefix: 'p', seed: SEED, batchSize: BATCH });
  const bodies = pop.bodies.map((b) => b.json);
  const items = pop.bodies.map((b) => b.items);
  const total = items.reduce((a, b) => a + b, 0);
  console.log(`${bodies.length} bodies, ${total} items, ${CONC} in flight; servers: ${mains.join(', ')}`);
  const work = mkdtempSync(join(tmpdir(), 'tessera-ingest-server-'));
  const targets: Target[] = [];
  try {
    for (const [i, entry] of mains.entries()) {
      const label = String.fromCharCode(65 + i);
      // `main.js|K=v|…`: that server runs with those environment variables (A/B of settings, NODE_OPTIONS).
      const [main, ...pairs] = entry.split('|');
      const own = Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
      const env = { LOG_LEVEL: 'warn', SERVER_MAIN: main!, INGEST_CPU_PROFILE: join(PROFILE ?? work, `server-${label}`), ...extraEnv, ...own };
      const server = await startSingleNode({ main: WRAPPER, env, startTimeoutMs: 120_000 });
      const pause = process.env.PAUSE === '0' ? undefined : await ProjectorPause.hold(embeddedDatabaseUrl(server.dataDir));
      const post = await forkHttpPoster(server.url, server.publicKey, bodies, join(work, `bodies-${label}.bin`), CONC);
      targets.push({ label, server, post, pause, cpuUsPerItem: [], mainUsPerItem: [], itemsPerSec: [] });
    }
    // Warm-up: JIT and heap of every server before the clock.
    const warm = Math.min(bodies.length, Math.ceil(30_000 / BATCH));
    if (WARM) for (const t of targets) for (let w = 0; w < 2; w++) await round(t, items, 0, warm);
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) {
        // PROFILE_ROUND=n: the profile of that measured round (default: an extra round after them).
        const profiled = PROFILE && Number(process.env.PROFILE_ROUND) === r;
        if (profiled) process.kill(t.server.process.pid!, 'SIGUSR2');
        const res = await round(t, items, 0, bodies.length);
        if (profiled) await stopProfile(t);
        t.cpuUsPerItem.push(res.cpuUsPerItem);
        t.mainUsPerItem.push(res.mainUsPerItem);
        t.itemsPerSec.push(res.itemsPerSec);
        console.log(`round ${r} ${t.label}: ${res.itemsPerSec} items/s, ${res.cpuUsPerItem} µs CPU/item (main thread ${res.mainUsPerItem})`);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    for (const t of targets) console.log(`${t.label}: peak RSS ${/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${t.server.process.pid}/status`, 'utf8'))?.[1] ?? '?'} kB`);
    for (const t of targets) console.log(`${t.label} (${mains[targets.indexOf(t)]}): median ${median(t.itemsPerSec)} items/s, ${median(t.cpuUsPerItem)} µs CPU/item, main thread ${median(t.mainUsPerItem)} µs/item`);
    if (PROFILE && process.env.PROFILE_ROUND === undefined) {
      for (const t of targets) {
        process.kill(t.server.process.pid!, 'SIGUSR2');
        await round(t, items, 0, bodies.length);
        await stopProfile(t);
      }
    }
  } finally {
    for (const t of targets) {
      t.post.close();
      await t.pause?.release().catch(() => undefined);
      await t.server.stop('SIGTERM');
      t.server.cleanup();
    }
    rmSync(work, { recursive: true, force: true });
  }
}

/** Stops the server's profiler (the wrapper writes the file) and prints self time by function. */
async function stopProfile(t: Target): Promise<void> {
  process.kill(t.server.process.pid!, 'SIGUSR2');
  const file = join(PROFILE!, `server-${t.label}.0.cpuprofile`);
  for (let i = 0; i < 100 && !safeExists(file); i++) await new Promise((r) => setTimeout(r, 100));
  const { totalMs, top } = selfTimes(JSON.parse(readFileSync(file, 'utf8')), TOP);
  console.log(`profile ${t.label} (${file}), ${totalMs.toFixed(0)} ms sampled, self time:\n${top.join('\n')}`);
}

function safeExists(file: string): boolean {
  try {
    readFileSync(file);
    return true;
  } catch {
    return false;
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
