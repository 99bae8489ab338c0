// Issue 8 item 8 (DESIGN §9): records are routed to handlers by their `schema` header. A kind the
// projector does not handle — a record of a newer producer during a rolling upgrade — is neither
// applied as a profile upsert nor dead-lettered (it is valid, just not for this version): its partition
// waits at it, everything before it is applied, and readiness fails until a version that handles it runs.
import { PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { PostgresEventLog } from '@tessera/event-log';
import { openTestPool } from '../support/database';
import { connectDataDirDb, dataDirDatabaseUrl, logRecords } from '../support/faults/data-dir-db';
import { encodeUpserts, silentLogger } from '../support/projection-fixture';
import { eventually, ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const ENV = { TESSERA_PARTITIONS: '1' };
const tag = `kind${process.pid}`;

describe('given a single node whose log receives a record kind it does not handle', () => {
  let server: SingleNode | undefined;

  afterAll(async () => {
    await server?.stop('SIGKILL');
    server?.cleanup();
  });

  it('then the partition waits at it: earlier records applied, nothing dead-lettered, later ones held, readiness fails, SIGTERM still exits 0', async () => {
    server = await startSingleNode({ env: ENV });
    const api = new ProfilesClient(server.url, server.publicKey, server.privateKey);
    const before = `before.${tag}@example.com`;
    const newer = `newer.${tag}@example.com`;
    const after = `after.${tag}@example.com`;
    expect((await api.post({ attributes: { email: before } })).status).toBe(202);
    await api.until(`email=${encodeURIComponent(before)}`);

    // A newer producer's record: shaped like an upsert, but of a schema this version does not know.
    const url = dataDirDatabaseUrl(server.dataDir);
    const pool = openTestPool(url, 2);
    let unknownOffset: number;
    try {
      const log = new PostgresEventLog({ pool, connectionString: url, logger: silentLogger });
      const [record] = encodeUpserts([{ email: newer, n: 1 }]);
      [{ offset: unknownOffset }] = await log.produce(PROFILE_UPSERTS_TOPIC, [{ ...record, headers: { ...record.headers, schema: 'profile-upsert.v2' } }]);
      await log.close();
    } finally {
      await pool.end();
    }
    expect((await api.post({ attributes: { email: after } })).status).toBe(202);

    await eventually(async () => ((await fetch(`${server!.url}/health/ready`)).status === 503 ? true : undefined), 20_000);
    const db = await connectDataDirDb(server.dataDir);
    try {
      const { rows } = await db.query(`SELECT next_offset FROM consumer_offsets WHERE topic = $1 AND partition = 0`, [PROFILE_UPSERTS_TOPIC]);
      expect(Number(rows[0].next_offset)).toBe(unknownOffset); // everything before it, and nothing from it on
      expect(await logRecords(db, PROFILE_UPSERTS_DLQ_TOPIC)).toEqual([]);
    } finally {
      await db.end();
    }
    expect((await api.get(`email=${encodeURIComponent(newer)}`)).status).toBe(404); // not applied as a v1 upsert
    expect((await api.get(`email=${encodeURIComponent(after)}`)).status).toBe(404); // held behind it, not skipped
    expect(server.output()).toMatch(/record kind not handled; the partition waits/);

    expect(await server.stop('SIGTERM')).toBe(0);
    server.cleanup();
    server = undefined;
  }, 90_000);
});
