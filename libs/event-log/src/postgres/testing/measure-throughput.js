#!/usr/bin/env node
'use strict';
// Measures Postgres-log throughput on this machine (not a test):
//   DATABASE_URL=postgres://user:pw@host:port/postgres node libs/event-log/src/postgres/testing/measure-throughput.js
// Creates a scratch database on that server, produces RECORDS records of ~300 bytes in batches of 500 from
// PRODUCERS concurrent producers, then consumes them all with one consumer (PARTITIONS partitions).
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const { compileEventLog } = require('./compile-event-log.js');

const env = (name, fallback) => Number(process.env[name] ?? fallback);
const RECORDS = env('RECORDS', 200_000);
const PRODUCERS = env('PRODUCERS', 20);
const BATCH = env('BATCH', 500);
const PARTITIONS = env('PARTITIONS', 12);

async function main() {
  const serverUrl = process.env.DATABASE_URL || process.env.TESSERA_TEST_DATABASE_URL;
  if (!serverUrl) throw new Error('set DATABASE_URL to a PostgreSQL server (a scratch database is created on it)');
  const dist = compileEventLog(mkdtempSync(path.join(tmpdir(), 'tessera-evlog-bench-')));
  const { Client, Pool } = require('pg');
  const { PostgresEventLog } = require(path.join(dist, 'postgres/postgres-event-log.js'));
  const { POSTGRES_LOG_UP_SQL } = require(path.join(dist, 'postgres/postgres-log.migration.js'));

  const name = `evlog_bench_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const pool = new Pool({ connectionString: url.toString(), max: Math.max(PRODUCERS, 10) });
  pool.on('error', () => undefined);
  try {
    for (const sql of POSTGRES_LOG_UP_SQL) await pool.query(sql);
    const log = new PostgresEventLog({ pool, connectionString: url.toString() });
    await log.ensureTopics([{ name: 'bench', partitions: PARTITIONS }]);

    const pad = 'x'.repeat(220);
    const batches = Math.ceil(RECORDS / BATCH);
    let next = 0;
    const latencies = [];
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: PRODUCERS }, async () => {
        for (let b = next++; b < batches; b = next++) {
          const records = Array.from({ length: BATCH }, (_, i) => {
            const n = b * BATCH + i;
            return { key: `tenant-1:user-${n % 50_000}@example.com`, value: JSON.stringify({ n, pad }), headers: { 'content-type': 'application/json', schema: 'profile-upsert.v1' } };
          });
          const s = process.hrtime.bigint();
          await log.produce('bench', records);
          latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
        }
      }),
    );
    const produceSec = Number(process.hrtime.bigint() - t0) / 1e9;
    latencies.sort((a, b) => a - b);
    const pct = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
    console.log(`produce: ${batches * BATCH} records (${BATCH}/batch, ${PRODUCERS} producers, ${PARTITIONS} partitions) in ${produceSec.toFixed(2)} s = ${Math.round((batches * BATCH) / produceSec)} records/s; batch latency p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`);

    let consumed = 0;
    let done;
    const finished = new Promise((r) => (done = r));
    const t1 = process.hrtime.bigint();
    const consumer = await log.consume({
      groupId: 'bench',
      topics: ['bench'],
      handleBatch: async (batch) => {
        consumed += batch.records.length;
        if (consumed >= batches * BATCH) done();
      },
    });
    await finished;
    const consumeSec = Number(process.hrtime.bigint() - t1) / 1e9;
    await consumer.stop();
    console.log(`consume: ${consumed} records (1 consumer, batches of up to 1000, commit per batch) in ${consumeSec.toFixed(2)} s = ${Math.round(consumed / consumeSec)} records/s`);
    await log.close();
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await admin.end();
    rmSync(dist, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
