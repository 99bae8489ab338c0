// Issue 5 §1: poison records (valid log entries the worker cannot apply) go to the DLQ with their
// headers while the partition keeps moving. Issue 9 item 6: each dead letter has an id and a state
// (new, retried, resolved, discarded); `dlq retry` is idempotent (a copy that fails again updates its
// dead letter, never adds one), as is a replay; `dlq discard` / `dlq purge --before`; the server logs
// each dead letter at warn without the record's key or values; `dlq list` joins no consumer group.
// Also: one record stored twice in the log (a producer retry) has no double effect.
//
// The records are written straight into the Postgres log of a stopped server's database, between good
// records, the way a buggy or older producer could have written them.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { DLQ_HEADER, PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { DEAD_LETTER_ID_HEADER } from '@tessera/store';
import { PostgresEventLog } from '@tessera/event-log';
import { openTestPool } from '../support/database';
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
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface ListedDeadLetter {
  id: string;
  state: string;
  attempts: number;
  source: string;
  error: string;
  retriedAt: string | null;
}

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
  const pool = openTestPool(url.toString(), 2);
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

  it('then each poison record is in the DLQ once, with its key, value and headers plus error, source and dead letter id', async () => {
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
          [DEAD_LETTER_ID_HEADER]: expect.stringMatching(UUID),
        });
        expect(r.headers[DLQ_HEADER.error]).toMatch(poison[i].error);
      });
    } finally {
      await db.end();
    }
  });

  it('then the server logged each dead letter once at warn with topic, partition, offset and error, never the key or values', () => {
    const lines = server!
      .output()
      .split('\n')
      .filter((l) => l.includes('record dead-lettered'))
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.level, l.topic, l.partition, l.offset])).toEqual(poisonOffsets.map((o) => [40, PROFILE_UPSERTS_TOPIC, 0, o]));
    lines.forEach((l, i) => expect(l.error).toMatch(poison[i].error));
    for (const l of lines) expect(l.deadLetterId).toMatch(UUID);
    const logged = lines.map((l) => JSON.stringify(l)).join('\n');
    expect(logged).not.toContain(tag); // in every poison record's key and values
    expect(logged).not.toContain(poison[0].key);
  });

  it('then a record stored twice in the log has no double effect: one profile, same attributes', async () => {
    const api = new ProfilesClient(server!.url, server!.publicKey, server!.privateKey);
    const profile = await api.until(`vuid=${dupVuid}`);
    expect(profile.attributes).toEqual({ vuid: dupVuid, vuids: [dupVuid], visits: 1, plan: 'gold', zaius_id: expect.any(String) });
    expect(profile.identifiers).toEqual({ vuid: [dupVuid] });
    const db = await connectDataDirDb(dataDir);
    try {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM profiles WHERE attributes->>'vuid' = $1`, [dupVuid]);
      expect(rows[0].n).toBe(1);
    } finally {
      await db.end();
    }
  });

  it('then `dlq list` shows them with id, state new, error and source offset, and leaves no consumer group behind', async () => {
    const db = await connectDataDirDb(dataDir);
    try {
      const groups = async () => (await db.query(`SELECT DISTINCT group_id FROM log_group_offsets ORDER BY 1`)).rows.map((r) => r.group_id);
      const before = await groups();
      const listed = await tesseraCli(dataDir, 'dlq', 'list');
      expect(listed.code).toBe(0);
      expect(listed.stderr).toMatch(new RegExp(`^${poison.length} dead letter\\(s\\)$`, 'm'));
      const entries = list(listed.stdout);
      expect(entries.map((e) => e.source)).toEqual(poisonOffsets.map((o) => `${PROFILE_UPSERTS_TOPIC}/0@${o}`));
      expect(entries.map((e) => [e.state, e.attempts])).toEqual(poison.map(() => ['new', 1]));
      entries.forEach((e, i) => expect(e.error).toMatch(poison[i].error));
      for (const e of entries) expect(e.id).toMatch(UUID);
      expect(listed.stdout).not.toContain(tag); // no key or values
      expect(await groups()).toEqual(before);
      expect(await tesseraCli(dataDir, 'dlq', 'list', '--limit', '1')).toMatchObject({ code: 0, stderr: expect.stringContaining(`, last 1 shown`) });
    } finally {
      await db.end();
    }
  });

  it('then `dlq retry` re-publishes each once with its dead letter id; failing again, each goes back to new (attempts 2) and the DLQ does not grow', async () => {
    const db = await connectDataDirDb(dataDir);
    try {
      const ids = list((await tesseraCli(dataDir, 'dlq', 'list')).stdout).map((e) => e.id);
      const mainBefore = await logRecords(db, PROFILE_UPSERTS_TOPIC);
      const retried = await tesseraCli(dataDir, 'dlq', 'retry');
      expect(retried).toMatchObject({ code: 0, stdout: ids.map((id) => `${id}\n`).join('') });
      expect(retried.stderr).toContain(`re-published ${poison.length} dead letter(s)`);

      const republished = (await logRecords(db, PROFILE_UPSERTS_TOPIC)).slice(mainBefore.length);
      expect(republished.map((r) => r.value.toString('utf8'))).toEqual(poison.map((p) => p.value.toString('utf8')));
      expect(republished.map((r) => r.key)).toEqual(poison.map((p) => p.key));
      // Re-published without the DLQ headers, naming the dead letter.
      republished.forEach((r, i) => expect(r.headers).toEqual({ 'content-type': 'application/json', schema: 'profile-upsert.v1', [DEAD_LETTER_ID_HEADER]: ids[i] }));

      const failedAgain = await eventually(async () => {
        const entries = list((await tesseraCli(dataDir, 'dlq', 'list')).stdout);
        return entries.every((e) => e.state === 'new' && e.attempts === 2) ? entries : undefined;
      }, 30_000);
      expect(failedAgain.map((e) => e.id)).toEqual(ids);
      for (const e of failedAgain) expect(e.retriedAt).toEqual(expect.any(String));
      expect(await logRecords(db, PROFILE_UPSERTS_DLQ_TOPIC)).toHaveLength(poison.length); // not 2×
      const warned = server!.output().split('\n').filter((l) => l.includes('retried dead letter failed again'));
      expect(warned.map((l) => JSON.parse(l).deadLetterId)).toEqual(ids);

      // A good batch after them is applied: the partition did not stop at the poison.
      const api = new ProfilesClient(server!.url, server!.publicKey, server!.privateKey);
      const after = `after-retry.${tag}@example.com`;
      expect((await api.post({ attributes: { email: after, n: 9 } })).status).toBe(202);
      expect((await api.until(`email=${encodeURIComponent(after)}`)).attributes.n).toBe(9);

      // Again: attempts 3, still one dead letter each.
      expect((await tesseraCli(dataDir, 'dlq', 'retry')).stdout.trim().split('\n')).toEqual(ids);
      await eventually(async () => (list((await tesseraCli(dataDir, 'dlq', 'list')).stdout).every((e) => e.state === 'new' && e.attempts === 3) ? true : undefined), 30_000);
      expect(await logRecords(db, PROFILE_UPSERTS_DLQ_TOPIC)).toHaveLength(poison.length);
      expect((await db.query(`SELECT count(*)::int AS n FROM dead_letters`)).rows[0].n).toBe(poison.length);
    } finally {
      await db.end();
    }
  }, 120_000);

  it('then `dlq discard` takes a dead letter out of retries, and unknown or malformed ids are errors', async () => {
    const [first, ...others] = list((await tesseraCli(dataDir, 'dlq', 'list')).stdout);
    const discarded = await tesseraCli(dataDir, 'dlq', 'discard', first.id);
    expect(discarded).toMatchObject({ code: 0, stdout: `${first.id}\n` });
    expect(await tesseraCli(dataDir, 'dlq', 'discard', '0190a0a0-0000-7000-8000-000000000000')).toMatchObject({
      code: 1,
      stdout: '',
      stderr: expect.stringContaining('no dead letter 0190a0a0-0000-7000-8000-000000000000'),
    });
    expect(await tesseraCli(dataDir, 'dlq', 'discard', 'abc')).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('"abc" is not a dead letter id') });

    const retried = await tesseraCli(dataDir, 'dlq', 'retry');
    expect(retried.stdout.trim().split('\n')).toEqual(others.map((e) => e.id));
    const entries = await eventually(async () => {
      const all = list((await tesseraCli(dataDir, 'dlq', 'list')).stdout);
      return all.filter((e) => e.id !== first.id).every((e) => e.state === 'new' && e.attempts === first.attempts + 1) ? all : undefined;
    }, 30_000);
    expect(entries.find((e) => e.id === first.id)).toMatchObject({ state: 'discarded', attempts: first.attempts });
    const onlyDiscarded = await tesseraCli(dataDir, 'dlq', 'list', '--state', 'discarded');
    expect(list(onlyDiscarded.stdout).map((e) => e.id)).toEqual([first.id]);
  }, 60_000);

  it('then bad `dlq` flags are usage errors with nothing on stdout', async () => {
    for (const [args, message] of [
      [['list', '--limit', 'abc'], /--limit must be a positive integer \(got "abc"\)/],
      [['list', '--state', 'gone'], /--state must be one of new, retried, resolved, discarded/],
      [['purge'], /--before DATE is required/],
      [['purge', '--before', 'yesterday'], /--before must be an ISO 8601 date/],
      [['purge', '--before', '2026-13-45'], /--before must be an ISO 8601 date/],
      [['retry', '--limit', '3'], /unknown option '--limit'|Unknown option '--limit'/],
      [['discard'], /at least one dead letter id/],
      [[], /dlq needs a command/],
      [['frobnicate'], /unknown command: dlq frobnicate/],
    ] as Array<[string[], RegExp]>) {
      const r = await tesseraCli(dataDir, 'dlq', ...args);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(r.stderr).toMatch(message);
    }
  }, 60_000);

  it('then a replay re-dead-letters nothing: same dead letters, same DLQ', async () => {
    const before = list((await tesseraCli(dataDir, 'dlq', 'list')).stdout);
    const db = await connectDataDirDb(dataDir);
    const dlqBefore = (await logRecords(db, PROFILE_UPSERTS_DLQ_TOPIC)).length;
    await db.end();
    expect(await server!.stop('SIGTERM')).toBe(0);
    server = undefined;
    const replayed = await tesseraCli(dataDir, 'replay');
    expect({ code: replayed.code, stderr: replayed.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(list((await tesseraCli(dataDir, 'dlq', 'list')).stdout)).toEqual(before);
    server = await startSingleNode({ dataDir, env: ENV });
    const again = await connectDataDirDb(dataDir);
    try {
      expect(await logRecords(again, PROFILE_UPSERTS_DLQ_TOPIC)).toHaveLength(dlqBefore);
    } finally {
      await again.end();
    }
  }, 150_000);

  it('then `dlq purge --before` deletes the dead letters created before that time', async () => {
    expect(await tesseraCli(dataDir, 'dlq', 'purge', '--before', '2000-01-01')).toMatchObject({ code: 0, stdout: '0\n' });
    const purged = await tesseraCli(dataDir, 'dlq', 'purge', '--before', new Date(Date.now() + 60_000).toISOString());
    expect(purged).toMatchObject({ code: 0, stdout: `${poison.length}\n` });
    expect(await tesseraCli(dataDir, 'dlq', 'list')).toMatchObject({ code: 0, stdout: '', stderr: expect.stringMatching(/^0 dead letter\(s\)$/m) });
    expect((await tesseraCli(dataDir, 'dlq', 'retry')).stdout).toBe('');
  }, 60_000);
});

function list(stdout: string): ListedDeadLetter[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}
