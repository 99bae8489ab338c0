// Runs a measure script built into dist/ under plain node instead of jest (issue 12):
//   node scripts/build.js && node dist/libs/profile-ingest/perf/plain-node.runner.js dist/libs/profile-ingest/perf/ingest-throughput.measure.js
// Why: jest runs test code in a vm context where every global look-up (Math, Object, Buffer) goes
// through the context's interceptors — CPU per item came out about twice the built server's, and a
// CPU profile blamed functions that merely read globals (murmur2, isPlainObject). The script keeps its
// jest shape (beforeAll/it/afterAll, expect); this gives it those and a PostgreSQL server (an embedded one
// unless TESSERA_TEST_DATABASE_URL or DATABASE_URL names one), then runs it once.
import { deepStrictEqual, strictEqual } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEmbeddedPostgres } from '../../store/src/database/embedded-postgres.server';

type Fn = () => unknown;
const hooks = { beforeAll: [] as Fn[], afterAll: [] as Fn[], tests: [] as Array<[string, Fn]> };
Object.assign(globalThis, {
  jest: { setTimeout: () => undefined },
  beforeAll: (fn: Fn) => hooks.beforeAll.push(fn),
  afterAll: (fn: Fn) => hooks.afterAll.push(fn),
  it: (name: string, fn: Fn) => hooks.tests.push([name, fn]),
  describe: (_: string, fn: Fn) => fn(),
  expect: (actual: unknown) => ({ toEqual: (expected: unknown) => deepStrictEqual(actual, expected), toBe: (expected: unknown) => strictEqual(actual, expected) }),
});

async function main(file: string): Promise<void> {
  let stopPg: (() => Promise<void>) | undefined;
  if (!process.env.TESSERA_TEST_DATABASE_URL) {
    if (process.env.DATABASE_URL) process.env.TESSERA_TEST_DATABASE_URL = process.env.DATABASE_URL;
    else {
      const pg = await startEmbeddedPostgres({ dataDir: mkdtempSync(join(tmpdir(), 'tessera-measure-pg-')) });
      process.env.TESSERA_TEST_DATABASE_URL = pg.url;
      stopPg = async () => {
        await pg.stop();
        rmSync(pg.dataDir, { recursive: true, force: true });
      };
    }
  }
  try {
    require(resolve(file));
    for (const fn of hooks.beforeAll) await fn();
    try {
      for (const [name, fn] of hooks.tests) {
        console.log(`— ${name}`);
        await fn();
      }
    } finally {
      for (const fn of hooks.afterAll) await fn();
    }
  } finally {
    await stopPg?.();
  }
}

main(process.argv[2]).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
