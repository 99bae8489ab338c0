'use strict';
// Child process of postgres-log-crash.int-spec.ts: produces and consumes on the Postgres log until it is
// SIGKILLed. stdout lines (JSON): {"acked":[[partition, offset, value], ...]} after each acknowledged produce,
// {"handled":[partition, first, last]} inside the handler (before the commit), {"ready":true} once consuming.
const path = require('node:path');
const { Pool } = require('pg');

const { EVLOG_DIST, DATABASE_URL, TOPIC, GROUP } = process.env;
const { PostgresEventLog } = require(path.join(EVLOG_DIST, 'postgres/postgres-event-log.js'));

const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function main() {
  const pool = new Pool({ connectionString: DATABASE_URL, max: 6 });
  const log = new PostgresEventLog({ pool, connectionString: DATABASE_URL, logger: { info() {}, warn() {}, error() {} } });
  await log.consume({
    groupId: GROUP,
    topics: [TOPIC],
    maxBatchRecords: 7,
    handleBatch: async (batch) => {
      const first = batch.records[0].offset;
      const last = batch.records[batch.records.length - 1].offset;
      say({ handled: [batch.partition, first, last] });
      await new Promise((r) => setTimeout(r, 3));
    },
  });
  say({ ready: true });
  for (let round = 0; ; round++) {
    const records = Array.from({ length: 25 }, (_, i) => ({ key: `key-${(round * 25 + i) % 37}`, value: `v-${round}-${i}` }));
    const produced = await log.produce(TOPIC, records);
    say({ acked: produced.map((p, i) => [p.partition, p.offset, records[i].value]) });
  }
}

main().catch((e) => {
  process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
