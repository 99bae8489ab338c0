// Issue 5 §1: SIGKILL the worker mid-batch, restart: the projections equal those of an uninterrupted run.
// The worker runs inside the single-node server. To kill it inside a batch transaction, the test holds
// an uncommitted identifiers row that a record of the backlog needs: the worker's batch blocks on it
// after it began writing, and the server is killed right there. After the restart catches up, the
// projections are compared with a replay of the same log (`tessera replay`, an uninterrupted run).
import { rmSync } from 'node:fs';
import { Client } from 'pg';
import { PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { startPostgresProcess } from '../support/embedded-postgres-process';
import { tesseraCli } from '../support/faults/cli';
import { connectDataDirDb } from '../support/faults/data-dir-db';
import { eventually, ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const ENV = { TESSERA_PARTITIONS: '1', TESSERA_WORKER_BATCH_SIZE: '100' };
const tag = `wkill${process.pid}`;
const blocker = `blocker.${tag}@example.com`;

/** People that share phones and customer ids across batches: merges, merge protection and LWW conflicts. */
function backlog(batch: number): Array<{ attributes: Record<string, unknown> }> {
  return Array.from({ length: 200 }, (_, k) => {
    const n = batch * 200 + k;
    const attributes: Record<string, unknown> = {
      email: `p${n % 90}.${tag}@example.com`,
      phone: `+1555${String(1_000_000 + ((n * 7) % 130)).slice(-7)}`,
      score: n,
      city: `c${(n * 13) % 17}`,
      ts: 1_700_000_000 + ((n * 7_919) % 5_000), // event times out of arrival order
    };
    if (n % 11 === 0) attributes.customer_id = `cust-${n % 23}`;
    if (n % 5 === 0) attributes.vuid = `dev-${n % 40}`;
    if (n % 9 === 0) attributes.city = null;
    if (batch === 4 && k === 100) attributes.email = blocker;
    return { attributes };
  });
}

async function projections(db: Client) {
  const profiles = await db.query(
    `SELECT tenant, id, attributes, attribute_versions, created_at, created_record_id, updated_at, merged_into FROM profiles ORDER BY tenant, id`,
  );
  const identifiers = await db.query(`SELECT tenant, type, value, profile_id, confidence, first_seen, last_seen FROM identifiers ORDER BY tenant, type, value`);
  const warnings = await db.query(`SELECT tenant, record_id, profile_id, message FROM identity_warnings ORDER BY record_id, message`);
  return { profiles: profiles.rows, identifiers: identifiers.rows, warnings: warnings.rows };
}

describe('given a backlog the worker is applying', () => {
  let server: SingleNode | undefined;
  let dataDir: string | undefined;

  afterAll(async () => {
    await server?.stop('SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('when the server is killed inside a worker batch and restarted, then the projections equal a replay of the same log', async () => {
    server = await startSingleNode({ env: ENV });
    dataDir = server.dataDir;
    let api = new ProfilesClient(server.url, server.publicKey, server.privateKey);
    expect((await api.post({ attributes: { email: `warm.${tag}@example.com` } })).status).toBe(202);
    await api.until(`email=${encodeURIComponent(`warm.${tag}@example.com`)}`);

    const hold = await connectDataDirDb(dataDir);
    try {
      await hold.query('BEGIN');
      await hold.query(
        `INSERT INTO identifiers (tenant, type, value, profile_id, confidence, first_seen, last_seen) VALUES ('default', 'email', $1, 'held', 'high', now(), now())`,
        [blocker],
      );
      for (let b = 0; b < 8; b++) expect((await api.post(backlog(b))).status).toBe(202);
      // The worker is inside a batch, waiting on the held row.
      await eventually(async () => {
        const { rows } = await hold.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'tessera' AND wait_event_type = 'Lock'`);
        return rows[0].n > 0 ? true : undefined;
      }, 30_000);
      const { rows } = await hold.query(
        `SELECT (SELECT next_offset FROM consumer_offsets WHERE topic = $1 AND partition = 0)::int AS applied,
                (SELECT next_offset FROM log_partitions WHERE topic = $1 AND partition = 0)::int AS end`,
        [PROFILE_UPSERTS_TOPIC],
      );
      expect(rows[0].applied).toBeGreaterThan(1); // some batches of the backlog were applied…
      expect(rows[0].applied).toBeLessThan(rows[0].end); // …and the rest was not
      expect(await server.stop('SIGKILL')).toBeNull();
      await hold.query('ROLLBACK');
    } finally {
      await hold.end().catch(() => undefined);
    }

    server = await startSingleNode({ dataDir, env: ENV });
    api = new ProfilesClient(server.url, server.publicKey, server.privateKey);
    expect((await api.post({ attributes: { email: `sentinel.${tag}@example.com` } })).status).toBe(202);
    await api.until(`email=${encodeURIComponent(`sentinel.${tag}@example.com`)}`, () => true, 30_000);
    expect((await api.get(`email=${encodeURIComponent(blocker)}`)).status).toBe(200);
    const db = await connectDataDirDb(dataDir);
    const afterCrash = await projections(db).finally(() => db.end());
    expect(afterCrash.profiles.length).toBeGreaterThan(50);
    expect(afterCrash.profiles.some((p) => p.merged_into !== null)).toBe(true); // merges happened
    expect(afterCrash.warnings.length).toBeGreaterThan(0); // and merge protection refused some
    expect(await server.stop('SIGTERM')).toBe(0);
    server = undefined;

    const replay = await tesseraCli(dataDir, 'replay');
    expect(replay).toMatchObject({ code: 0, stdout: expect.stringContaining('replay done') });

    const pg = await startPostgresProcess(dataDir);
    try {
      const url = new URL(pg.url);
      url.pathname = '/tessera';
      const again = new Client({ connectionString: url.toString() });
      await again.connect();
      const replayed = await projections(again).finally(() => again.end());
      expect(replayed.profiles).toEqual(afterCrash.profiles);
      expect(replayed.identifiers).toEqual(afterCrash.identifiers);
      expect(replayed.warnings).toEqual(afterCrash.warnings);
    } finally {
      await pg.stop();
    }
  }, 150_000);
});
