import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchCollector, waitFor } from '../conformance/event-log.conformance';
import { PostgresEventLog } from './postgres-event-log';
import { createPostgresLogTestDb, PostgresLogTestDb } from './testing/postgres-log-test-db';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { compileEventLog } = require('./testing/compile-event-log.js') as { compileEventLog(outDir: string): string };

const TOPIC = 'crash.upserts';
const GROUP = 'crash-group';
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

let db: PostgresLogTestDb;
let distDir: string;

beforeAll(async () => {
  distDir = compileEventLog(mkdtempSync(join(tmpdir(), 'tessera-evlog-dist-')));
  db = await createPostgresLogTestDb('evlog_crash');
  const log = new PostgresEventLog({ pool: db.pool, connectionString: db.url, logger: quiet });
  await log.ensureTopics([{ name: TOPIC, partitions: 3 }]);
  await log.close();
});

afterAll(async () => {
  await db?.drop();
  if (distDir) rmSync(distDir, { recursive: true, force: true });
});

interface WorkerOutput {
  acked: Array<[number, number, string]>;
  handled: Array<[number, number, number]>;
  ready: boolean;
}

function startWorker(): { child: ChildProcess; out: WorkerOutput; exited: Promise<NodeJS.Signals | number | null> } {
  const child = spawn(process.execPath, [join(__dirname, 'testing/crash-worker.js')], {
    env: { ...process.env, EVLOG_DIST: distDir, DATABASE_URL: db.url, TOPIC, GROUP },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: WorkerOutput = { acked: [], handled: [], ready: false };
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop()!; // a line cut by the kill is not an acknowledgement
    for (const line of lines) {
      const msg = JSON.parse(line);
      if (msg.acked) out.acked.push(...msg.acked);
      if (msg.handled) out.handled.push(msg.handled);
      if (msg.ready) out.ready = true;
    }
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      if (code) console.error(`crash worker exited with ${code}: ${stderr}`);
      resolve(signal ?? code);
    }),
  );
  return { child, out, exited };
}

it('keeps every acknowledged record and resumes the group right after its last commit when the process is SIGKILLed', async () => {
  const worker = startWorker();
  await waitFor(() => worker.out.ready, 'the worker to consume', 20_000);
  await waitFor(() => worker.out.acked.length >= 1500 && worker.out.handled.length >= 50, 'the worker to produce and consume', 30_000);
  worker.child.kill('SIGKILL');
  expect(await worker.exited).toBe('SIGKILL');

  // 1. Every acknowledged record is in the log, with its value, at its offset.
  const { rows } = await db.pool.query<{ partition: number; offset: string; value: Buffer }>(
    'SELECT partition, "offset", value FROM log_records WHERE topic = $1',
    [TOPIC],
  );
  const stored = new Map(rows.map((r) => [`${r.partition}:${r.offset}`, r.value.toString()]));
  const missing = worker.out.acked.filter(([p, o, v]) => stored.get(`${p}:${o}`) !== v);
  expect(missing).toEqual([]);
  // Offsets stay contiguous (a transaction cut by the kill left nothing behind).
  const log = new PostgresEventLog({ pool: db.pool, connectionString: db.url, logger: quiet });
  try {
    const ends = await log.endOffsets(TOPIC);
    for (const { partition, offset } of ends) {
      expect(rows.filter((r) => r.partition === partition).length).toBe(offset);
    }

    // 2. A restarted member of the group gets the dead member's partitions at once and resumes after the commit.
    const committed = new Map((await log.lag(GROUP, TOPIC)).map((l) => [l.partition, l.committed]));
    expect([...committed.values()].some((c) => c > 0)).toBe(true);
    for (const [partition, from] of committed) {
      // Handled batches were committed, except at most the one in flight when the process died.
      expect(worker.out.handled.filter(([p, , last]) => p === partition && last + 1 > from).length).toBeLessThanOrEqual(1);
    }
    const collector = new BatchCollector();
    const startedAt = Date.now();
    const consumer = await log.consume({ groupId: GROUP, topics: [TOPIC], maxBatchRecords: 50, handleBatch: collector.handleBatch });
    await waitFor(() => consumer.assignments().flatMap((a) => a.partitions).length === 3, 'all partitions', 10_000);
    expect(Date.now() - startedAt).toBeLessThan(3_000);
    const expected = ends.reduce((n, e) => n + e.offset - committed.get(e.partition)!, 0);
    await waitFor(() => collector.records.length >= expected, `${expected} uncommitted records`);
    await new Promise((r) => setTimeout(r, 300)); // anything extra would show up here
    await consumer.stop();
    expect(collector.records.length).toBe(expected);
    for (const { partition, offset: end } of ends) {
      const offsets = collector.records.filter((r) => r.partition === partition).map((r) => r.offset);
      const from = committed.get(partition)!;
      // Nothing committed is delivered again, nothing is skipped.
      expect(offsets).toEqual(Array.from({ length: end - from }, (_, i) => from + i));
    }
  } finally {
    await log.close();
  }
});
