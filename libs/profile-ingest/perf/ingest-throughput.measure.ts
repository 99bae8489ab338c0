// Not part of npm test (no spec suffix). Run (issue 12):
//   PEOPLE=20000 ROUNDS=4 npx jest --testMatch '**/perf/*.measure.ts' --maxWorkers=1 libs/profile-ingest/perf
// POST /v3/profiles of the single-node app in this process, the bench's bodies (BATCH items, default 100),
// the projector paused (as the bench's ingest phase). Alternates the Nest route (lean route off) and the
// lean route, ROUNDS each: CPU µs per item of this process (holds on a shared machine) and items/s.
// Over real HTTP from a child process (CONC keep-alive connections, default 50, as the bench), so this
// process's CPU is the server's alone; CLIENT=inject posts with fastify.inject from this process instead.
// PROFILE=lean|nest adds a CPU profile of one extra round: self time by function, top TOP.
// Caution: every round re-posts the same PEOPLE, so per-value caches (the phone LRU of 20,000) hit where the
// bench, posting 200,000 new people once, misses; and it warms up first. For bench-like figures use
// ingest-server.measure.ts (the built server, PEOPLE ≥ 100000, WARM=0 for a cold start).
import { fork, type ChildProcess } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadEnv, SingleNodeEnv } from '@tessera/config';
import { createHttpApp, createLogger, Infrastructure, startInfrastructure } from '@tessera/runtime';
import { TenantRepository } from '@tessera/store';
import { createTestDatabase, TestDatabase } from '@tessera/testing/database';
import { generatePopulation } from '../../../bench/population';
import { ProjectorPause } from '../../../bench/pg-direct';
import { TesseraModule } from '../../../apps/tessera/src/tessera.module';
import { IngestLeanRoutes } from '../src/profile-ingest.lean-route';
import { selfTimes as profileSelfTimes, type CpuProfile } from './cpu-profile.summary';

jest.setTimeout(1_800_000);
const PEOPLE = Number(process.env.PEOPLE ?? 20000);
const ROUNDS = Number(process.env.ROUNDS ?? 4);
const CONC = Number(process.env.CONC ?? 50);
const BATCH = Number(process.env.BATCH ?? 100);
const INJECT = process.env.CLIENT === 'inject';
const TOP = Number(process.env.TOP ?? 40);

let db: TestDatabase;
let dataDir: string;
let infra: Infrastructure;
let app: NestFastifyApplication;
let pause: ProjectorPause;
let client: ChildProcess | undefined;

beforeAll(async () => {
  db = await createTestDatabase('ingestperf');
  dataDir = mkdtempSync(join(tmpdir(), 'tessera-ingestperf-'));
  const env = loadEnv(SingleNodeEnv, { DATABASE_URL: db.url, TESSERA_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const logger = createLogger('silent');
  infra = await startInfrastructure(env, logger);
  app = await createHttpApp(TesseraModule.register(infra, env), env, logger);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  pause = await ProjectorPause.hold(db.url);
});

afterAll(async () => {
  client?.kill();
  await pause?.release();
  await app?.close();
  await infra?.close();
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

/**
 * The load generator of the HTTP mode, in a child process: reads the bodies once, then on each message
 * `{from, to}` posts bodies[from..to) with CONC requests in flight and answers the status counts.
 */
const CLIENT_SOURCE = `
const http = require('node:http');
const fs = require('node:fs');
const { url, key, file, conc } = JSON.parse(process.argv[1]);
const buf = fs.readFileSync(file);
const bodies = [];
for (let at = 0; at < buf.length; ) { const n = buf.readUInt32LE(at); bodies.push(buf.subarray(at + 4, at + 4 + n)); at += 4 + n; }
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
const post = (body) => new Promise((resolve) => {
  const r = http.request({ agent, host: target.hostname, port: target.port, method: 'POST', path: '/v3/profiles',
    headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-api-key': key } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
  r.on('error', () => resolve('error'));
  r.end(body);
});
process.on('message', async ({ from, to }) => {
  const statuses = {};
  let next = from;
  await Promise.all(Array.from({ length: conc }, async () => {
    for (let i = next++; i < to; i = next++) { const s = await post(bodies[i]); statuses[s] = (statuses[s] || 0) + 1; }
  }));
  process.send(statuses);
});
process.send('ready');
`;

type Poster = (from: number, to: number) => Promise<Record<string, number>>;

/** Posts bodies[from..to) with fastify.inject from this process, CONC in flight. */
function injectPoster(fastify: FastifyInstance, key: string, bodies: Buffer[]): Poster {
  return async (from, to) => {
    const statuses: Record<string, number> = {};
    let next = from;
    const worker = async () => {
      for (let i = next++; i < to; i = next++) {
        const res = await fastify.inject({ method: 'POST', url: '/v3/profiles', payload: bodies[i], headers: { 'content-type': 'application/json', 'x-api-key': key } });
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: CONC }, worker));
    return statuses;
  };
}

/** Posts bodies[from..to) over HTTP from the child process. */
async function httpPoster(url: string, key: string, bodies: Buffer[]): Promise<Poster> {
  const file = join(dataDir, 'bodies.bin');
  writeFileSync(file, Buffer.concat(bodies.flatMap((b) => [Buffer.from(new Uint32Array([b.length]).buffer), b])));
  const child = fork('-e', [CLIENT_SOURCE, JSON.stringify({ url, key, file, conc: CONC })], { execArgv: [] });
  client = child;
  // `node -e` with an IPC channel: fork runs process.execPath with the script path '-e'.
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`client exited with ${code}`)));
  });
  return (from, to) =>
    new Promise((resolve) => {
      child.once('message', (statuses) => resolve(statuses as Record<string, number>));
      child.send({ from, to });
    });
}

/** Posts every body once; returns items/s, CPU µs per item of this process, and the statuses. */
async function round(post: Poster, bodies: Buffer[], items: number[], from = 0, to = bodies.length) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const statuses = await post(from, to);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const n = items.slice(from, to).reduce((a, b) => a + b, 0);
  return { itemsPerSec: Math.round((n * 1000) / wallMs), cpuUsPerItem: +((cpu.user + cpu.system) / n).toFixed(2), statuses };
}

/** Self time (ms) by function of a V8 CPU profile, largest first (TOP rows). */
const selfTimes = (profile: CpuProfile) => profileSelfTimes(profile, TOP);

it('measures POST /v3/profiles, Nest route vs lean route, alternating', async () => {
  const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
  const lean = app.get(IngestLeanRoutes);
  const tenants = app.get(TenantRepository);
  await tenants.ensureTenant('perf');
  const key = await tenants.createApiKey('perf', 'public');
  const pop = generatePopulation({ people: PEOPLE, prefix: 'p', seed: 7, batchSize: BATCH });
  const bodies = pop.bodies.map((b) => b.json);
  const items = pop.bodies.map((b) => b.items);
  const post = INJECT ? injectPoster(fastify, key, bodies) : await httpPoster(await app.listen(0, '127.0.0.1').then(() => app.getUrl()), key, bodies);
  console.log(`${bodies.length} bodies, ${items.reduce((a, b) => a + b, 0)} items, ${CONC} in flight, ${INJECT ? 'fastify.inject' : 'HTTP from a child process'}`);

  // Warm-up: both paths JIT-compiled (and the heap grown) before the clock.
  for (const on of [false, true, false, true]) {
    lean.enabled = on;
    await round(post, bodies, items, 0, Math.min(bodies.length, Math.ceil(20_000 / BATCH)));
  }
  const results: Record<string, Array<{ itemsPerSec: number; cpuUsPerItem: number }>> = { nest: [], lean: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of r % 2 === 0 ? ['nest', 'lean'] : ['lean', 'nest']) {
      lean.enabled = mode === 'lean';
      const res = await round(post, bodies, items);
      results[mode].push(res);
      console.log(`round ${r} ${mode.padEnd(4)}: ${res.itemsPerSec} items/s, ${res.cpuUsPerItem} µs CPU/item ${JSON.stringify(res.statuses)}`);
      expect(Object.keys(res.statuses)).toEqual(['202']);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const mode of ['nest', 'lean']) {
    console.log(`${mode}: median ${median(results[mode].map((x) => x.itemsPerSec))} items/s, ${median(results[mode].map((x) => x.cpuUsPerItem))} µs CPU/item`);
  }

  if (process.env.PROFILE) {
    lean.enabled = process.env.PROFILE === 'lean';
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    await round(post, bodies, items);
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    const { totalMs, top } = selfTimes(profile as never);
    console.log(`profile (${process.env.PROFILE}), ${totalMs.toFixed(0)} ms sampled, self time:\n${top.join('\n')}`);
  }
});
