/**
 * `npm run soak`: drives a single-node server for a fixed time at a fixed rate and reports memory,
 * errors and consumer lag over time. Not part of CI. Loopback only; stops by itself.
 *
 *   npm run soak -- [--minutes 10] [--rate 5000] [--batch 100] [--connections 16]
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { embeddedPostgresUrl } from '../../libs/store/src/database/embedded-postgres.server';
import { startSingleNode } from '../../test/support/single-node-server';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '5000' },
    batch: { type: 'string', default: '100' },
    connections: { type: 'string', default: '16' },
  },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const batchSize = Number(values.batch);
const connections = Number(values.connections);

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

function post(url: URL, key: string, body: string, agent: Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-api-key': key, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

async function main() {
  const server = await startSingleNode({ env: { LOG_LEVEL: 'warn' } });
  const db = new Client({ connectionString: embeddedPostgresUrl(server.dataDir, 'tessera') });
  await db.connect();
  const url = new URL('/v3/profiles', server.url);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const started = Date.now();
  const endAt = started + minutes * 60_000;
  const samples: Array<{ t: number; rssMiB: number; sent: number; accepted: number; errors: number; lag: number }> = [];
  let sent = 0;
  let accepted = 0;
  let errors = 0;
  let seq = 0;
  const statuses = new Map<number, number>();
  const intervalMs = (batchSize / rate) * 1000 * connections;

  const lag = async () => {
    const { rows } = await db.query(
      `SELECT coalesce(sum(p.next_offset - coalesce(o.next_offset, 0)), 0)::bigint AS lag
         FROM log_partitions p LEFT JOIN consumer_offsets o
           ON o.topic = p.topic AND o.partition = p.partition AND o.consumer_group = 'tessera.profile-projector'
        WHERE p.topic = 'tessera.profile-upserts.v1'`,
    );
    return Number(rows[0].lag);
  };

  const sampler = setInterval(async () => {
    const s = { t: Math.round((Date.now() - started) / 1000), rssMiB: rssMiB(server.process.pid!), sent, accepted, errors, lag: await lag() };
    samples.push(s);
    console.log(`t=${s.t}s rss=${s.rssMiB}MiB sent=${s.sent} accepted=${s.accepted} errors=${s.errors} lag=${s.lag}`);
  }, 10_000);

  // `connections` paced loops, each sending one batch per interval.
  await Promise.all(
    Array.from({ length: connections }, async (_, c) => {
      let next = Date.now() + (c * intervalMs) / connections;
      while (Date.now() < endAt) {
        const wait = next - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        next += intervalMs;
        const items = Array.from({ length: batchSize }, () => {
          const n = seq++;
          return { attributes: { email: `soak.${n % 200_000}@example.com`, ...(n % 5 === 0 ? { vuid: `d${n % 50_000}` } : {}), n, plan: n % 3 ? 'pro' : 'free' } };
        });
        const status = await post(url, server.publicKey, JSON.stringify(items), agent);
        sent += batchSize;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 202) accepted += batchSize;
        else errors++;
      }
    }),
  );
  clearInterval(sampler);
  const drainStart = Date.now();
  while ((await lag()) > 0 && Date.now() - drainStart < 120_000) await new Promise((r) => setTimeout(r, 500));
  const result = {
    date: new Date().toISOString(),
    minutes,
    targetItemsPerSec: rate,
    achievedItemsPerSec: Math.round(sent / ((Date.now() - started - (Date.now() - drainStart)) / 1000)),
    sent,
    accepted,
    errorResponses: errors,
    statuses: Object.fromEntries(statuses),
    finalLag: await lag(),
    drainMs: Date.now() - drainStart,
    peakRssMiB: Math.max(...samples.map((s) => s.rssMiB)),
    samples,
  };
  await db.end();
  await server.stop();
  server.cleanup();
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/soak-${result.date.replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify(result, null, 2));
  console.log(JSON.stringify({ ...result, samples: undefined }, null, 2));
  console.log(`written ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
