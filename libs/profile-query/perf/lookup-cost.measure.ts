// Not part of npm test. Run (issue 12), under plain node (jest's vm context skews CPU):
//   node scripts/build.js && PEOPLE=20000 ROUNDS=3 node dist/libs/profile-ingest/perf/plain-node.runner.js dist/libs/profile-query/perf/lookup-cost.measure.js
// GET /v3/profiles?email= of the single-node app in this process, the bench's population and e-mails.
// Alternates, ROUNDS times: HTTP look-ups from a child process (CONC keep-alive connections, as the
// bench) and Q (the same repository statement straight through `pg` from the child, pool POOL).
// Per look-up: CPU of this process (the server), of each PostgreSQL process by role (application_name /
// backend type), buffer hits and reads, transactions, the statements this process sent; the server's
// event-loop delay and GC pauses by kind; after the rounds, generic/custom plan counts of the look-up
// statement on every connection of both pools. RATE=n adds open-loop rounds at n req/s (p50/p99, from
// when each request was due). PROFILE=1 adds a CPU profile of one extra HTTP round (self time by
// function, top TOP; PROFILE_OUT=file keeps it), ALLOC=1 a sampled allocation profile (bytes per
// look-up by function). EVICT=1 empties PostgreSQL's shared buffers before each round. MODES picks and orders
// the modes: http, q, bare (a bare Fastify route with the same statement: the floor of an HTTP look-up here).
// The profile's wall-clock samples put the time the process waits to run again after waking a
// PostgreSQL backend (a loopback writev) on `writev`: that is not CPU — compare with serverMsPerReq.
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Fastify from 'fastify';
import { Client, Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { loadEnv, SingleNodeEnv } from '@tessera/config';
import { createHttpApp, createLogger, Infrastructure, startInfrastructure } from '@tessera/runtime';
import { connectConsumers } from '@tessera/runtime/consumers';
import { ProfileQueryRepository, TenantRepository } from '@tessera/store';
import { createTestDatabase, TestDatabase } from '@tessera/testing/database';
import { generatePopulation } from '../../../bench/population';
import { waitApplied } from '../../../bench/pg-direct';
import { TesseraModule } from '../../../apps/tessera/src/tessera.module';
import { selfTimes as profileSelfTimes, type CpuProfile } from '../../profile-ingest/perf/cpu-profile.summary';

jest.setTimeout(3_600_000);
const PEOPLE = Number(process.env.PEOPLE ?? 20000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CONC = Number(process.env.CONC ?? 50);
const POOL = Number(process.env.POOL ?? 20);
const N = Number(process.env.N ?? 20000);
const TOP = Number(process.env.TOP ?? 45);
const RATE = Number(process.env.RATE ?? 0);
const TENANT = 'perf';

let db: TestDatabase;
let dataDir: string;
let infra: Infrastructure;
let app: NestFastifyApplication;
let child: ChildProcess | undefined;
let admin: Client;

beforeAll(async () => {
  db = await createTestDatabase('lookupperf');
  dataDir = mkdtempSync(join(tmpdir(), 'tessera-lookupperf-'));
  const env = loadEnv(SingleNodeEnv, { DATABASE_URL: db.url, TESSERA_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const logger = createLogger('silent');
  infra = await startInfrastructure(env, logger);
  app = await createHttpApp(TesseraModule.register(infra, env), env, logger);
  // As apps/tessera/src/main.ts: the projector runs in this process (its idle loop is part of what a look-up meets).
  const consumers = connectConsumers(app, infra.eventLog, env.TESSERA_WORKER_BATCH_SIZE, logger);
  await app.init();
  await app.startAllMicroservices();
  consumers.started();
  await app.getHttpAdapter().getInstance().ready();
  admin = new Client({ connectionString: db.url, application_name: 'measure-admin' });
  await admin.connect();
});

afterAll(async () => {
  child?.kill();
  await bareServer?.close();
  await barePool?.end();
  await admin?.end();
  await app?.close();
  await infra?.close();
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The load generator, in a child process: HTTP look-ups or Q, `n` e-mails from `from` (cycling), CONC in flight. */
const CLIENT_SOURCE = `
const http = require('node:http');
const { Pool } = require('pg');
const { url, bareUrl, key, emailsFile, conc, pool: poolSize, dbUrl, repoPath, tenant } = JSON.parse(process.argv[1]);
const emails = JSON.parse(require('node:fs').readFileSync(emailsFile, 'utf8'));
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: conc, maxFreeSockets: conc, scheduling: 'fifo' });
const pool = new Pool({ connectionString: dbUrl, max: poolSize, application_name: 'q' });
const { ProfileQueryRepository } = require(repoPath);
const repo = new ProfileQueryRepository({ driver: { master: pool } });
const bare = new URL(bareUrl);
const getFrom = (t) => (email) => new Promise((resolve) => {
  const r = http.request({ agent, host: t.hostname, port: t.port, method: 'GET', path: '/v3/profiles?email=' + encodeURIComponent(email),
    headers: { 'x-api-key': key } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
  r.on('error', () => resolve('error'));
  r.end();
});
const get = getFrom(target);
const getBare = getFrom(bare);
const q = async (email) => ((await repo.findByIdentifier(tenant, 'email', email)) ? 200 : 404);
const plansOf = async (p) => {
  const clients = await Promise.all(Array.from({ length: p.options.max }, () => p.connect()));
  try { return await Promise.all(clients.map(async (c) => (await c.query("SELECT generic_plans AS g, custom_plans AS c FROM pg_prepared_statements WHERE name LIKE 'tessera.profile-by-identifier%'")).rows[0])); }
  finally { clients.forEach((c) => c.release()); }
};
process.on('message', async ({ mode, from, n, rate }) => {
  if (mode === 'plans') return process.send({ plans: await plansOf(pool) });
  const call = mode === 'q' ? q : mode === 'bare' ? getBare : get;
  const statuses = {};
  const lat = [];
  const c0 = process.cpuUsage();
  let next = 0;
  const one = async (i) => { const t = performance.now(); const s = await call(emails[(from + i) % emails.length]); lat.push(performance.now() - t); statuses[s] = (statuses[s] || 0) + 1; };
  if (rate) {
    // Open loop: request i due at t0 + i/rate; latency from when it was due.
    const t0 = performance.now() + 20; const pending = [];
    for (let i = 0; i < n; i++) {
      const due = t0 + (i * 1000) / rate; const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      pending.push((async () => { const s = await call(emails[(from + i) % emails.length]); lat.push(performance.now() - due); statuses[s] = (statuses[s] || 0) + 1; })());
    }
    await Promise.all(pending);
  } else {
    await Promise.all(Array.from({ length: conc }, async () => { for (let i = next++; i < n; i = next++) await one(i); }));
  }
  const c = process.cpuUsage(c0);
  lat.sort((a, b) => a - b);
  process.send({ statuses, clientCpuMs: (c.user + c.system) / 1000, p50: lat[Math.floor(lat.length * 0.5)], p99: lat[Math.floor(lat.length * 0.99)], max: lat[lat.length - 1] });
});
process.send('ready');
`;

interface ChildAnswer {
  statuses: Record<string, number>;
  clientCpuMs: number;
  p50: number;
  p99: number;
  max: number;
}

// ---- CPU of the PostgreSQL processes (children of this process: the runner's embedded server) ----
const TICK = 100;
function stat(pid: number): { ppid: number; comm: string; cpu: number; childCpu: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const f = text.slice(close + 2).split(' ');
    return { ppid: Number(f[1]), comm: text.slice(text.indexOf('(') + 1, close), cpu: (Number(f[11]) + Number(f[12])) / TICK, childCpu: (Number(f[13]) + Number(f[14])) / TICK };
  } catch {
    return undefined;
  }
}
function pgProcesses(): Map<number, number> {
  const all = new Map<number, ReturnType<typeof stat> & object>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s) all.set(Number(name), s);
  }
  const out = new Map<number, number>();
  const stack = [process.pid];
  while (stack.length) {
    const parent = stack.pop()!;
    for (const [pid, s] of all) {
      if (s.ppid !== parent) continue;
      stack.push(pid);
      if (s.comm.startsWith('postgres')) out.set(pid, s.cpu + (all.get(s.ppid)?.comm.startsWith('postgres') ? 0 : s.childCpu));
    }
  }
  return out;
}
async function roles(): Promise<Map<number, string>> {
  const { rows } = await admin.query(`SELECT pid, coalesce(nullif(application_name, ''), backend_type) AS role, datname FROM pg_stat_activity`);
  return new Map(rows.map((r) => [Number(r.pid), r.datname && r.role === 'client backend' ? `backend(${r.datname === db.name ? 'app' : r.datname})` : String(r.role)]));
}
async function commits(): Promise<{ xact: number; read: number; hit: number }> {
  const { rows } = await admin.query(`SELECT xact_commit + xact_rollback AS n, blks_read, blks_hit FROM pg_stat_database WHERE datname = current_database()`);
  return { xact: Number(rows[0].n), read: Number(rows[0].blks_read), hit: Number(rows[0].blks_hit) };
}

// ---- statements this process sends through node-postgres ----
const sent = new Map<string, number>();
function countStatements(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = require('pg') as { Client: { prototype: { query: (...a: unknown[]) => unknown } } };
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: unknown, ...args: unknown[]) {
    const c = args[0] as { text?: string; name?: string } | string;
    const text = typeof c === 'string' ? c : (c?.name ?? c?.text ?? '<submittable>');
    const key = String(text).replace(/\s+/g, ' ').slice(0, 70);
    sent.set(key, (sent.get(key) ?? 0) + 1);
    return original.apply(this, args);
  };
}

async function measureRound(mode: 'http' | 'q' | 'bare', from: number, n: number, rate = 0) {
  const send = (m: object) => new Promise<ChildAnswer>((res) => { child!.once('message', (a) => res(a as ChildAnswer)); child!.send(m); });
  // EVICT=1: every round starts with PostgreSQL's shared buffers emptied (the pages stay in the OS cache),
  // as after the bench's D phase has written through them.
  if (process.env.EVICT) await admin.query('SELECT pg_buffercache_evict_all()');
  sent.clear();
  const pg0 = pgProcesses();
  const x0 = await commits();
  const c0 = process.cpuUsage();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const gcs: number[] = [];
  const gcKinds: Record<string, number[]> = {};
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcs.push(e.duration);
      // 1 scavenge, 2 mark-compact, 4 incremental marking, 8 weak callbacks
      const kind = String((e as unknown as { detail?: { kind?: number } }).detail?.kind ?? '?');
      (gcKinds[kind] ??= []).push(e.duration);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const t0 = performance.now();
  const answer = await send({ mode, from, n, rate });
  loop.disable();
  gcObserver.disconnect();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const pg1 = pgProcesses();
  const x1 = await commits();
  const who = await roles();
  const byRole: Record<string, number> = {};
  let pgTotal = 0;
  // A process that exits moves its whole CPU time into the postmaster's children time: count only what is new.
  for (const [pid, cpu] of pg0) if (!pg1.has(pid)) byRole['exited before the end'] = (byRole['exited before the end'] ?? 0) - cpu;
  for (const [pid, cpu] of pg1) {
    const d = cpu - (pg0.get(pid) ?? 0);
    const role = who.get(pid) ?? `postmaster and exited children`;
    byRole[role] = (byRole[role] ?? 0) + d;
  }
  for (const [role, d] of Object.entries(byRole)) {
    if (Math.abs(d) < 1e-9) delete byRole[role];
    else pgTotal += d;
  }
  const per = (s: number) => +((s * 1000) / n).toFixed(3);
  return {
    mode,
    reqPerSec: Math.round((n * 1000) / wall),
    serverMsPerReq: +((c.user + c.system) / 1000 / n).toFixed(3),
    pgMsPerReq: per(pgTotal),
    pgByRole: Object.fromEntries(Object.entries(byRole).map(([k, v]) => [k, per(v)])),
    clientMsPerReq: +(answer.clientCpuMs / n).toFixed(3),
    xactPerReq: +((x1.xact - x0.xact - 3) / n).toFixed(3),
    blocksReadPerReq: +((x1.read - x0.read) / n).toFixed(2),
    blocksHitPerReq: +((x1.hit - x0.hit) / n).toFixed(2),
    otherStatementsPerReq: +([...sent].filter(([k]) => !k.startsWith('tessera.profile-by-identifier') && !k.includes('pg_stat_database')).reduce((a, [, v]) => a + v, 0) / n).toFixed(4),
    lookupStatementsPerReq: +((sent.get('tessera.profile-by-identifier.v2') ?? 0) / n).toFixed(3),
    p50: +answer.p50.toFixed(2),
    p99: +answer.p99.toFixed(2),
    max: +answer.max.toFixed(1),
    statuses: answer.statuses,
    // The server's event loop: delay p99 / max (ms), and its GC pauses (count, total and largest, ms).
    loopDelayP99: +(loop.percentile(99) / 1e6).toFixed(2),
    loopDelayMax: +(loop.max / 1e6).toFixed(1),
    gc: { n: gcs.length, totalMs: +gcs.reduce((a, b) => a + b, 0).toFixed(0), maxMs: +Math.max(0, ...gcs).toFixed(1) },
    gcByKind: Object.fromEntries(Object.entries(gcKinds).map(([k, d]) => [k, `${d.length}× ${d.reduce((a, b) => a + b, 0).toFixed(0)} ms, max ${Math.max(...d).toFixed(1)}`])),
    heapMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  };
}

/** Self time (ms) by function of a V8 CPU profile, largest first (TOP rows). */
const selfTimes = (profile: CpuProfile) => profileSelfTimes(profile, TOP);

async function populate(fastify: FastifyInstance, key: string) {
  const pop = generatePopulation({ people: PEOPLE, prefix: 'l', seed: 7, batchSize: 100 });
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < pop.bodies.length; i = next++) {
        const res = await fastify.inject({ method: 'POST', url: '/v3/profiles', payload: pop.bodies[i]!.json, headers: { 'content-type': 'application/json', 'x-api-key': key } });
        if (res.statusCode !== 202) throw new Error(`ingest ${res.statusCode} ${res.body}`);
      }
    }),
  );
  const done = await waitApplied(admin, { timeoutMs: 1_200_000, intervalMs: 200 });
  if (!done.complete) throw new Error('projection did not finish');
  // The bench's sample: xorshift over the people (bench/main.ts sampleEmails), seed 1.
  let x = 1;
  const emails: string[] = [];
  for (let i = 0; i < 50_000; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    emails.push(pop.people[(x >>> 0) % pop.people.length]!.email);
  }
  return emails;
}

/**
 * The floor of an HTTP look-up in this process (MODES=…,bare): a bare Fastify route on its own port and
 * pool (POOL) running the same repository statement and answering the same JSON fields — no guard, rate
 * limit, identifier rules, hooks or metrics.
 */
let bareServer: FastifyInstance | undefined;
let barePool: Pool | undefined;
async function startBareServer(): Promise<string> {
  barePool = new Pool({ connectionString: db.url, max: POOL, application_name: 'bare' });
  const repo = new ProfileQueryRepository({ driver: { master: barePool } } as unknown as DataSource);
  bareServer = Fastify();
  bareServer.get('/v3/profiles', async (request, reply) => {
    const profile = await repo.findByIdentifier(TENANT, 'email', (request.query as { email: string }).email);
    if (!profile) return reply.code(404).send({ status: 404 });
    return { attributes: { ...profile.attributes, zaius_id: profile.id }, identifiers: profile.identifiers, created_at: profile.createdAt, updated_at: profile.updatedAt };
  });
  return bareServer.listen({ port: 0, host: '127.0.0.1' });
}

it('measures GET /v3/profiles?email= against Q, alternating', async () => {
  const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
  const tenants = app.get(TenantRepository);
  await tenants.ensureTenant(TENANT);
  const publicKey = await tenants.createApiKey(TENANT, 'public');
  const privateKey = await tenants.createApiKey(TENANT, 'private');
  const t0 = performance.now();
  const emails = await populate(fastify, publicKey);
  console.log(`populated ${PEOPLE} people in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (process.env.VACUUM) await admin.query('VACUUM ANALYZE');
  if (process.env.EVICT) await admin.query('CREATE EXTENSION IF NOT EXISTS pg_buffercache');
  const emailsFile = join(dataDir, 'emails.json');
  writeFileSync(emailsFile, JSON.stringify(emails));
  const url = await app.listen(0, '127.0.0.1').then(() => app.getUrl());
  const repoPath = resolve(__dirname, '../../store/src/repositories/profile-query.repository.js');
  const bareUrl = await startBareServer();
  child = fork('-e', [CLIENT_SOURCE, JSON.stringify({ url, bareUrl, key: privateKey, emailsFile, conc: CONC, pool: POOL, dbUrl: db.url, repoPath, tenant: TENANT })], { execArgv: [] });
  await new Promise<void>((res, rej) => {
    child!.once('message', () => res());
    child!.once('exit', (code) => rej(new Error(`client exited with ${code}`)));
  });
  countStatements();
  // Warm-up: JIT, connections, prepared statements, the pages of every e-mail sampled.
  for (const mode of ['http', 'q'] as const) console.log(`warm-up ${JSON.stringify(await measureRound(mode, 0, emails.length))}`);
  const modes = (process.env.MODES ?? 'http,q').split(',') as Array<'http' | 'q' | 'bare'>;
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of r % 2 === 0 ? modes : [...modes].reverse()) {
      const res = await measureRound(mode, r * N, N);
      console.log(`round ${r} ${JSON.stringify(res)}`);
    }
  }
  // Generic or custom plans of the look-up statement, per connection: the app's pool, then Q's.
  const plansOf = async (pool: import('pg').Pool) => {
    const clients = await Promise.all(Array.from({ length: (pool.options.max ?? 10) - 5 }, () => pool.connect()));
    try {
      return await Promise.all(clients.map(async (c) => (await c.query(`SELECT generic_plans AS g, custom_plans AS c FROM pg_prepared_statements WHERE name LIKE 'tessera.profile-by-identifier%'`)).rows[0]));
    } finally {
      clients.forEach((c) => c.release());
    }
  };
  console.log(`plans, app pool: ${JSON.stringify(await plansOf(infra.database.pool))}`);
  console.log(`plans, Q pool: ${JSON.stringify(await new Promise((res) => { child!.once('message', (m) => res((m as { plans: unknown }).plans)); child!.send({ mode: 'plans' }); }))}`);
  if (RATE) {
    for (let r = 0; r < ROUNDS; r++) {
      const res = await measureRound('http', r * N, RATE * 10, RATE);
      console.log(`open ${RATE}/s ${JSON.stringify(res)}`);
    }
  }
  if (process.env.ALLOC) {
    // Where the bytes a look-up allocates come from (every allocation sampled, collected ones included).
    const session = new Session();
    session.connect();
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    await measureRound('http', 0, N);
    const { profile } = await session.post('HeapProfiler.stopSampling');
    session.disconnect();
    type AllocNode = { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: AllocNode[] };
    const self = new Map<string, number>();
    let total = 0;
    const walk = (node: AllocNode, parentName: string) => {
      const f = node.callFrame;
      const name = f.url ? `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/(node_modules|libs|apps)\//, '$1/')}:${f.lineNumber + 1}` : `${f.functionName || '(native)'} < ${parentName}`;
      total += node.selfSize;
      self.set(name, (self.get(name) ?? 0) + node.selfSize);
      for (const c of node.children) walk(c, f.url ? name : parentName);
    };
    walk((profile as unknown as { head: AllocNode }).head, '-');
    console.log(`allocated ~${(total / N / 1024).toFixed(1)} KiB per look-up (sampled); by function:`);
    for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${(v / N).toFixed(0).padStart(7)} B/req ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
  }
  if (process.env.PROFILE) {
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    await measureRound('http', 0, N);
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    if (process.env.PROFILE_OUT) writeFileSync(process.env.PROFILE_OUT, JSON.stringify(profile));
    const { totalMs, top } = selfTimes(profile as never);
    console.log(`profile, ${totalMs.toFixed(0)} ms sampled, self time:\n${top.join('\n')}`);
  }
});
