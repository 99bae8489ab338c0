// Issue 5 §1: poison records (valid log entries the worker cannot apply) go to the DLQ with their
// headers while the partition keeps moving; `dlq list` shows them and `dlq retry` re-publishes them.
// Also: one record stored twice in the log (a producer retry) has no double effect.
//
// The records are written straight into the Postgres log of a stopped server's database, between good
// records, the way a buggy or older producer could have written them.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Pool } from 'pg';
import { DLQ_HEADER, PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { PostgresEventLog } from '@tessera/event-log';
import { startPostgresProcess } from '../support/embedded-postgres-process';
import { tesseraCli } from '../support/faults/cli';
import { connectDataDirDb, logRecords } from '../support/faults/data-dir-db';
import { encodeUpserts, silentLogger } from '../support/projection-fixture';
import { eventually, ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const ENV = { TESSERA_PARTITIONS: '1' };
const tag = `poison${process.pid}`;
const emailA = `a.${tag}@example.com`;
const emailB = `b.${tag}@example.com`;
const emailC = `c.${tag}@example.com`;
const dupVuid = `dup-${tag}`;

interface Poison {
  what: string;
  key: string;
  value: Buffer;
  /** A fragment the DLQ `error` header must contain (it names the problem). */
  error: RegExp;
}

let server: SingleNode | undefined;
let dataDir: string;
let poison: Poison[];
/** Offsets of the poison records on the main topic, in order. */
let poisonOffsets: number[];
let mainEndAfterSeed: number;

function mutate(value: string, change: (record: Record<string, unknown>) => void): Buffer {
  const record = JSON.parse(value);
  change(record);
  return Buffer.from(JSON.stringify(record));
}

beforeAll(async () => {
  const first = await startSingleNode({ env: ENV });
  dataDir = first.dataDir;
  const api = new ProfilesClient(first.url, first.publicKey, first.privateKey);
  expect((await api.post({ attributes: { email: `warm.${tag}@example.com` } })).status).toBe(202);
  await api.until(`email=${encodeURIComponent(`warm.${tag}@example.com`)}`);
  expect(await first.stop('SIGTERM')).toBe(0);

  // The stopped server's embedded PostgreSQL, started on its own to write into the log.
  const pg = await startPostgresProcess(dataDir);
  const url = new URL(pg.url);
  url.pathname = '/tessera';
  const pool = new Pool({ connectionString: url.toString(), max: 2 });
  try {
    const log = new PostgresEventLog({ pool, connectionString: url.toString(), logger: silentLogger });
    const [a, b, c, dup, template] = encodeUpserts([
      { email: emailA, n: 1 },
      { email: emailB, n: 2 },
      { email: emailC, n: 3 },
      { vuid: dupVuid, visits: 1, plan: 'gold' },
      { email: `poison.${tag}@example.com`, n: 0 },
    ]);
    poison = [
      { what: 'no tenant', key: template.key, value: mutate(template.value, (r) => delete r.tenant), error: /tenant/ },
      { what: 'a UUID v4 id', key: template.key, value: mutate(template.value, (r) => (r.id = randomUUID())), error: /id/ },
      { what: 'truncated JSON', key: template.key, value: Buffer.from(template.value.slice(0, 25)), error: /JSON/ },
    ];
    const headers = template.headers;
    const produced = await log.produce(PROFILE_UPSERTS_TOPIC, [
      a,
      { key: poison[0].key, value: poison[0].value, headers },
      b,
      { key: poison[1].key, value: poison[1].value, headers },
      dup,
      { key: poison[2].key, value: poison[2].value, headers },
      dup, // the very same record again: a producer retry
      c,
    ]);
    poisonOffsets = [produced[1].offset, produced[3].offset, produced[5].offset];
    mainEndAfterSeed = produced[7].offset + 1;
    await log.close();
  } finally {
    await pool.end();
    await pg.stop();
  }
  server = await startSingleNode({ dataDir, env: ENV });
}, 120_000);

afterAll(async () => {
  await server?.stop('SIGTERM');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('given poison records between good records in the log', () => {
  it('then the good records around them are applied and the partition checkpoint moves past them', async () => {
    const api = new ProfilesClient(server!.url, server!.publicKey, server!.privateKey);
    expect((await api.until(`email=${encodeURIComponent(emailA)}`)).attributes.n).toBe(1);
    expect((await api.until(`email=${encodeURIComponent(emailB)}`)).attributes.n).toBe(2);
    expect((await api.until(`email=${encodeURIComponent(emailC)}`)).attributes.n).toBe(3);
    const db = await connectDataDirDb(dataDir);
    try {
      const { rows } = await db.query(`SELECT next_offset FROM consumer_offsets WHERE topic = $1 AND partition = 0`, [PROFILE_UPSERTS_TOPIC]);
      expect(Number(rows[0].next_offset)).toBeGreaterThanOrEqual(mainEndAfterSeed);
    } finally {
      await db.end();
    }
  });

  it('then each poison record is in the DLQ once, with its key, value and headers plus error and source headers', async () => {
    const db = await connectDataDirDb(dataDir);
    try {
      const dlq = await eventually(async () => {
        const records = await logRecords(db, PROFILE_UPSERTS_DLQ_TOPIC);
        return records.length >= poison.length ? records : undefined;
      });
      expect(dlq).toHaveLength(poison.length);
      dlq.forEach((r, i) => {
        expect(r.key).toBe(poison[i].key);
        expect(r.value.equals(poison[i].value)).toBe(true);
        expect(r.headers).toMatchObject({
          'content-type': 'application/json',
          schema: 'profile-upsert.v1',
          [DLQ_HEADER.sourceTopic]: PROFILE_UPSERTS_TOPIC,
          [DLQ_HEADER.sourcePartition]: '0',
          [DLQ_HEADER.sourceOffset]: String(poisonOffsets[i]),
        });
        expect(r.headers[DLQ_HEADER.error]).toMatch(poison[i].error);
      });
    } finally {
      await db.end();
    }
  });

  it('then a record stored twice in the log has no double effect: one profile, same attributes', async () => {
    const api = new ProfilesClient(server!.url, server!.publicKey, server!.privateKey);
    const profile = await api.until(`vuid=${dupVuid}`);
    expect(profile.attributes).toEqual({ vuid: dupVuid, visits: 1, plan: 'gold', zaius_id: expect.any(String) });
    expect(profile.identifiers).toEqual({ vuid: [dupVuid] });
    const db = await connectDataDirDb(dataDir);
    try {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM profiles WHERE attributes->>'vuid' = $1`, [dupVuid]);
      expect(rows[0].n).toBe(1);
    } finally {
      await db.end();
    }
  });

  it('then `dlq list` shows them with error and source offset', async () => {
    const listed = await tesseraCli(dataDir, 'dlq', 'list');
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trim().split('\n');
    expect(lines[lines.length - 1]).toBe(`${poison.length} dead-lettered record(s)`);
    const entries = lines.slice(0, -1).map((l) => JSON.parse(l));
    expect(entries.map((e) => e.source)).toEqual(poisonOffsets.map((o) => `${PROFILE_UPSERTS_TOPIC}/0@${o}`));
    entries.forEach((e, i) => expect(e.error).toMatch(poison[i].error));
  });

  it('then `dlq retry` re-publishes them to the topic; still poison, they are dead-lettered again and the partition keeps moving', async () => {
    const db = await connectDataDirDb(dataDir);
    try {
      const mainBefore = await logRecords(db, PROFILE_UPSERTS_TOPIC);
      const retried = await tesseraCli(dataDir, 'dlq', 'retry');
      expect(retried).toMatchObject({ code: 0, stdout: expect.stringContaining(`re-published ${poison.length} dead-lettered record(s)`) });

      const mainAfter = await logRecords(db, PROFILE_UPSERTS_TOPIC);
      const republished = mainAfter.slice(mainBefore.length);
      expect(republished.map((r) => r.value.toString('utf8'))).toEqual(poison.map((p) => p.value.toString('utf8')));
      expect(republished.map((r) => r.key)).toEqual(poison.map((p) => p.key));
      // Re-published without the DLQ headers.
      for (const r of republished) expect(Object.keys(r.headers).sort()).toEqual(['content-type', 'schema']);

      const dlq = await eventually(async () => {
        const records = await logRecords(db, PROFILE_UPSERTS_DLQ_TOPIC);
        return records.length >= 2 * poison.length ? records : undefined;
      }, 30_000);
      expect(dlq).toHaveLength(2 * poison.length);
      expect(dlq.slice(poison.length).map((r) => r.headers[DLQ_HEADER.sourceOffset])).toEqual(republished.map((r) => String(r.offset)));

      // A good batch after them is applied: the partition did not stop at the poison.
      const api = new ProfilesClient(server!.url, server!.publicKey, server!.privateKey);
      const after = `after-retry.${tag}@example.com`;
      expect((await api.post({ attributes: { email: after, n: 9 } })).status).toBe(202);
      expect((await api.until(`email=${encodeURIComponent(after)}`)).attributes.n).toBe(9);

      // Only dead letters not retried yet are re-published by the next retry.
      const again = await tesseraCli(dataDir, 'dlq', 'retry');
      expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining(`re-published ${poison.length} dead-lettered record(s)`) });
      await eventually(async () => ((await logRecords(db, PROFILE_UPSERTS_DLQ_TOPIC)).length >= 3 * poison.length ? true : undefined), 30_000);
      const listed = await tesseraCli(dataDir, 'dlq', 'list');
      expect(listed.stdout).toMatch(new RegExp(`^${3 * poison.length} dead-lettered record\\(s\\)`, 'm'));
    } finally {
      await db.end();
    }
  }, 90_000);
});
