// Issue 8 §2: two workers in one consumer group on a real Kafka broker, a stream of batches, one worker
// SIGKILLed mid-stream and a third started: the group rebalances twice while batches are in flight.
// At the end nothing is lost and nothing was applied twice: the projections (ids and the per-write
// attribute versions included) equal a replay of the same log into a second database
// (`tessera replay`, which applies every record exactly once).
//
// Every item of a person carries the person's email, so all of a person's records share a partition
// key: the result does not depend on how partitions interleave, and a replay must match it exactly.
import { spawn, type ChildProcess, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { KafkaEventLog } from '@tessera/event-log';
import { silentLogger } from '../../libs/event-log/src/kafka/kafka-logger';
import { freePort } from '../support/ports';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startKafkaForTests, type DedicatedKafkaCluster } from '../support/kafka/kafka-test-cluster';
import { distPath } from '../support/paths';
import { encodeUpserts } from '../support/projection-fixture';
import { eventually } from '../support/single-node-server';

const PARTITIONS = 4;
const BATCHES = 30;
const ITEMS_PER_BATCH = 60;
const PEOPLE = 120;
const tag = `rebal${process.pid}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Worker {
  name: string;
  process: ChildProcess;
  output(): string;
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

async function startWorker(name: string, env: Record<string, string>): Promise<Worker> {
  const port = await freePort();
  const child = spawn(process.execPath, [distPath('apps/worker/src/main.js')], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`worker ${name} exited with ${child.exitCode}:\n${out}`);
    return (await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false)) ? true : undefined;
  }, 60_000, 100).catch((e: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${e.message}\n${out}`);
  });
  return {
    name,
    process: child,
    output: () => out,
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

function batchItems(batch: number): Array<Record<string, unknown>> {
  return Array.from({ length: ITEMS_PER_BATCH }, (_, k) => {
    const n = batch * ITEMS_PER_BATCH + k;
    const p = (n * 37) % PEOPLE;
    const item: Record<string, unknown> = {
      email: `p${p}.${tag}@example.com`,
      score: n,
      city: `c${(n * 13) % 17}`,
      ts: 1_700_000_000 + ((n * 7_919) % 5_000), // event times out of arrival order
    };
    if (n % 5 === 0) item.vuid = `dev-${p}-${tag}`;
    if (n % 9 === 0) item.city = null;
    return item;
  });
}

async function checkpoints(db: Client): Promise<Map<number, number>> {
  const { rows } = await db.query(`SELECT partition, next_offset FROM consumer_offsets WHERE topic = $1`, [PROFILE_UPSERTS_TOPIC]);
  return new Map(rows.map((r) => [Number(r.partition), Number(r.next_offset)]));
}

async function projections(url: string) {
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    // Not `version`: it counts the transactions that touched a profile, and batch boundaries differ
    // between a live run and a replay. attribute_versions has one entry per applied write.
    const profiles = await db.query(
      `SELECT tenant, id, attributes, attribute_versions, created_at, created_record_id, updated_at, merged_into FROM profiles ORDER BY tenant, id`,
    );
    const identifiers = await db.query(`SELECT tenant, type, value, profile_id, confidence, first_seen, last_seen FROM identifiers ORDER BY tenant, type, value`);
    const dead = await db.query(`SELECT count(*)::int AS n FROM identity_warnings`);
    return { profiles: profiles.rows, identifiers: identifiers.rows, warnings: dead.rows[0].n as number };
  } finally {
    await db.end();
  }
}

describe('given two workers in one group on a real Kafka broker', () => {
  let broker: DedicatedKafkaCluster;
  let live: TestDatabase;
  let replayed: TestDatabase;
  let log: KafkaEventLog;
  const workers: Worker[] = [];

  beforeAll(async () => {
    [broker, live, replayed] = await Promise.all([
      startKafkaForTests(
        [
          { name: PROFILE_UPSERTS_TOPIC, partitions: PARTITIONS },
          { name: PROFILE_UPSERTS_DLQ_TOPIC, partitions: 1 },
        ],
        { dedicated: true },
      ),
      createTestDatabase('rebal_live'),
      createTestDatabase('rebal_replay'),
    ]);
    log = new KafkaEventLog({ brokers: broker.brokers, clientId: 'rebalance-spec', logger: silentLogger });
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(workers.map((w) => w.stop('SIGKILL')));
    await log?.close();
    await broker?.stop();
    await Promise.allSettled([live?.drop(), replayed?.drop()]);
  });

  it('when one is SIGKILLed mid-stream and a third joins, then nothing is lost and nothing applied twice (equal to a replay)', async () => {
    const env = {
      DATABASE_URL: live.url,
      KAFKA_BROKERS: broker.brokers.join(','),
      TESSERA_KAFKA_REPLICATION_FACTOR: '1',
      TESSERA_KAFKA_MIN_INSYNC_REPLICAS: '1',
      // A killed worker's partitions move after this long (the broker allows ≥ 1 s here).
      TESSERA_KAFKA_SESSION_TIMEOUT_MS: '3000',
      TESSERA_WORKER_BATCH_SIZE: '25', // many small transactions: the kill lands inside a batch
    };
    const [a, b] = await Promise.all([startWorker('a', env), startWorker('b', env)]);
    workers.push(a, b);
    const db = new Client({ connectionString: live.url });
    await db.connect();
    try {
      let killedAt = -1;
      for (let batch = 0; batch < BATCHES; batch++) {
        await log.produce(PROFILE_UPSERTS_TOPIC, encodeUpserts(batchItems(batch)));
        if (batch === 10) {
          // Both workers have applied work by now; kill one while the stream goes on.
          await eventually(async () => ((await checkpoints(db)).size === PARTITIONS ? true : undefined), 20_000);
          expect(await a.stop('SIGKILL')).toBeNull();
          killedAt = batch;
        }
        if (batch === 15) workers.push(await startWorker('c', env));
        await sleep(100);
      }
      expect(killedAt).toBe(10);

      const ends = await log.endOffsets(PROFILE_UPSERTS_TOPIC);
      expect(ends.reduce((s, e) => s + e.offset, 0)).toBe(BATCHES * ITEMS_PER_BATCH);
      await eventually(async () => {
        const done = await checkpoints(db);
        return ends.every((e) => done.get(e.partition) === e.offset) ? true : undefined;
      }, 45_000, 200);
    } finally {
      await db.end();
    }
    for (const w of workers.slice(1)) expect(await w.stop('SIGTERM')).toBe(0);

    // An uninterrupted run: the same log applied once into an empty database.
    const cli = await promisify(execFile)(process.execPath, [distPath('apps/cli/src/main.js'), 'replay'], {
      env: { ...process.env, DATABASE_URL: replayed.url, KAFKA_BROKERS: broker.brokers.join(','), LOG_LEVEL: 'warn' },
      timeout: 60_000,
    });
    expect(cli.stdout).toContain(`replay done: ${BATCHES * ITEMS_PER_BATCH} records`);

    const [afterRebalances, replay] = await Promise.all([projections(live.url), projections(replayed.url)]);
    expect(afterRebalances.profiles).toHaveLength(PEOPLE);
    expect(afterRebalances.profiles).toEqual(replay.profiles);
    expect(afterRebalances.identifiers).toEqual(replay.identifiers);
    expect(afterRebalances.warnings).toBe(replay.warnings);
  }, 120_000);
});
