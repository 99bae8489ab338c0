// Not part of npm test (no spec suffix). Run (issue 12):
//   PEOPLE=20000 ROUNDS=4 npx jest --testMatch '**/perf/*.measure.ts' --maxWorkers=1 libs/profile-ingest/perf
// POST /v3/profiles of the single-node app in this process (fastify.inject: no socket, the whole Fastify
// pipeline incl. the JSON parser), the bench's 100-item bodies, CONC requests in flight, the projector
// paused (as the bench's ingest phase). Alternates the Nest route (lean route off) and the lean route,
// ROUNDS each: CPU µs per item of this process (holds on a shared machine) and items/s.
// PROFILE=lean|nest adds a CPU profile of one extra round: self time by function, top TOP.
import { Session } from 'node:inspector/promises';
import { mkdtempSync, rmSync } from 'node:fs';
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
import { ProfileIngestLeanRoute } from '../src/profile-ingest.lean-route';

jest.setTimeout(1_800_000);
const PEOPLE = Number(process.env.PEOPLE ?? 20000);
const ROUNDS = Number(process.env.ROUNDS ?? 4);
const CONC = Number(process.env.CONC ?? 16);
const TOP = Number(process.env.TOP ?? 40);

let db: TestDatabase;
let dataDir: string;
let infra: Infrastructure;
let app: NestFastifyApplication;
let pause: ProjectorPause;

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
  await pause?.release();
  await app?.close();
  await infra?.close();
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Posts every body once, CONC in flight; returns items/s, CPU µs per item, and the statuses. */
async function round(fastify: FastifyInstance, key: string, bodies: Buffer[], items: number[]) {
  const statuses = new Map<number, number>();
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    for (let i = next++; i < bodies.length; i = next++) {
      const res = await fastify.inject({ method: 'POST', url: '/v3/profiles', payload: bodies[i], headers: { 'content-type': 'application/json', 'x-api-key': key } });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONC }, worker));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const n = items.reduce((a, b) => a + b, 0);
  return { itemsPerSec: Math.round((n * 1000) / wallMs), cpuUsPerItem: +((cpu.user + cpu.system) / n).toFixed(2), statuses: Object.fromEntries(statuses) };
}

/** Self time (ms) by function of a V8 CPU profile, largest first. */
type ProfileNode = { id: number; children?: number[]; callFrame: { functionName: string; url: string; lineNumber: number } };
function selfTimes(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const frame = (n: ProfileNode | undefined) => (n ? `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/^.*\/(node_modules|libs|apps)\//, '$1/')}:${n.callFrame.lineNumber + 1}` : '-');
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)!;
    // Native functions (no url) are named with their caller: `dispatch` alone says nothing.
    const name = node.callFrame.url ? frame(node) : `${frame(node)} < ${frame(parent.get(node.id))}`;
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    self.set(name, (self.get(name) ?? 0) + us);
  });
  return { totalMs: total / 1000, top: [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([k, v]) => `${(v / 1000).toFixed(0).padStart(7)} ms ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`) };
}

it('measures POST /v3/profiles, Nest route vs lean route, alternating', async () => {
  const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
  const lean = app.get(ProfileIngestLeanRoute);
  const tenants = app.get(TenantRepository);
  await tenants.ensureTenant('perf');
  const key = await tenants.createApiKey('perf', 'public');
  const pop = generatePopulation({ people: PEOPLE, prefix: 'p', seed: 7, batchSize: 100 });
  const bodies = pop.bodies.map((b) => b.json);
  const items = pop.bodies.map((b) => b.items);
  console.log(`${bodies.length} bodies, ${items.reduce((a, b) => a + b, 0)} items, ${CONC} in flight`);

  // Warm-up: both paths JIT-compiled before the clock.
  for (const on of [false, true]) {
    lean.enabled = on;
    await round(fastify, key, bodies.slice(0, 50), items.slice(0, 50));
  }
  const results: Record<string, Array<{ itemsPerSec: number; cpuUsPerItem: number }>> = { nest: [], lean: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of r % 2 === 0 ? ['nest', 'lean'] : ['lean', 'nest']) {
      lean.enabled = mode === 'lean';
      const res = await round(fastify, key, bodies, items);
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
    await round(fastify, key, bodies, items);
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    const { totalMs, top } = selfTimes(profile as never);
    console.log(`profile (${process.env.PROFILE}), ${totalMs.toFixed(0)} ms sampled, self time:\n${top.join('\n')}`);
  }
});
