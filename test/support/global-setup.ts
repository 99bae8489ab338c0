import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../libs/store/src/database/embedded-postgres.server';
import { describeKafka, startSharedKafka, type KafkaTestCluster } from './kafka/kafka-test-cluster';

// One real PostgreSQL server and one real Kafka broker for the whole run, started side by side with
// the build. Each test file makes its own database on the server (test/support/database.ts) and its
// own topics and groups on the broker (test/support/kafka/kafka-test-cluster.ts).
// DATABASE_URL / KAFKA_BROKERS in the environment point tests at external servers instead.
export default async function globalSetup(): Promise<void> {
  const started = await Promise.allSettled([build(), startPostgres(), startSharedKafka((line) => console.log(`\n${line}`))]);
  const [built, pg, kafka] = started;
  if (pg.status === 'fulfilled' && pg.value) (globalThis as Record<string, unknown>).__TESSERA_TEST_PG__ = pg.value;
  if (kafka.status === 'fulfilled' && kafka.value) (globalThis as Record<string, unknown>).__TESSERA_TEST_KAFKA__ = kafka.value;
  recordKafkaForSummary(kafka.status === 'fulfilled' ? kafka.value : null);
  const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    // jest skips globalTeardown when globalSetup throws: stop what did start.
    await stopServices();
    throw built.status === 'rejected' ? built.reason : failure.reason;
  }
}

/** scripts/test.js names the broker the run used next to its closing line. */
function recordKafkaForSummary(cluster: KafkaTestCluster | null): void {
  const kind = (process.env.TESSERA_TEST_KAFKA_KIND ?? 'mokapi') as KafkaTestCluster['kind'];
  const text = describeKafka(cluster ?? { kind, version: process.env.TESSERA_TEST_KAFKA_VERSION });
  const dir = join(__dirname, '../../.test-output');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kafka.txt'), `${text}\n`);
}

/** Process-level tests (e2e, crash, outage) run the built code: keep dist/ current. */
function build(): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(__dirname, '../../scripts/build.js'), '--quiet'], { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`scripts/build.js exited with ${code}`))));
  });
}

async function startPostgres(): Promise<EmbeddedPostgresHandle | null> {
  if (process.env.TESSERA_TEST_DATABASE_URL) return null;
  if (process.env.DATABASE_URL) {
    process.env.TESSERA_TEST_DATABASE_URL = process.env.DATABASE_URL;
    return null;
  }
  const pg = await startEmbeddedPostgres({ dataDir: mkdtempSync(join(tmpdir(), 'tessera-test-pg-')) });
  process.env.TESSERA_TEST_DATABASE_URL = pg.url;
  return pg;
}

export async function stopServices(): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  const pg = g.__TESSERA_TEST_PG__ as EmbeddedPostgresHandle | undefined;
  const kafka = g.__TESSERA_TEST_KAFKA__ as KafkaTestCluster | undefined;
  delete g.__TESSERA_TEST_PG__;
  delete g.__TESSERA_TEST_KAFKA__;
  await Promise.all([
    pg?.stop().then(() => rmSync(pg.dataDir, { recursive: true, force: true })),
    kafka?.stop(),
  ]);
}
