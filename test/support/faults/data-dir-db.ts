import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { embeddedPostgresPassword } from '../../../libs/store/src/database/embedded-postgres.server';

/** Port of the embedded PostgreSQL running on a Tessera data dir (line 4 of `<dataDir>/pg/postmaster.pid`). */
export function embeddedPostgresPort(dataDir: string): number {
  const lines = readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n');
  const port = Number(lines[3]);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`no port in ${dataDir}/pg/postmaster.pid`);
  return port;
}

/** URL of the `tessera` database of the embedded PostgreSQL of a data dir (password from the data dir). */
export function dataDirDatabaseUrl(dataDir: string, port = embeddedPostgresPort(dataDir)): string {
  return `postgres://tessera:${encodeURIComponent(embeddedPostgresPassword(dataDir))}@127.0.0.1:${port}/tessera`;
}

/** A connected pg client on the `tessera` database of a running server's data dir. */
export async function connectDataDirDb(dataDir: string): Promise<Client> {
  const client = new Client({ connectionString: dataDirDatabaseUrl(dataDir) });
  client.on('error', () => undefined); // the server may stop under us
  await client.connect();
  return client;
}

/** Records of a Postgres-log topic, in offset order. */
export async function logRecords(
  client: Client,
  topic: string,
): Promise<Array<{ partition: number; offset: number; key: string | null; value: Buffer; headers: Record<string, string> }>> {
  const { rows } = await client.query(`SELECT partition, "offset", key, value, headers FROM log_records WHERE topic = $1 ORDER BY partition, "offset"`, [topic]);
  return rows.map((r) => ({ partition: r.partition, offset: Number(r.offset), key: r.key, value: r.value, headers: r.headers }));
}

/**
 * Holds the Postgres log's partition rows of `topic` from a session of the test's own (BEGIN … FOR UPDATE)
 * and resolves once a server session waits on them: every batch that reaches produce() now waits there,
 * so "in flight" is deterministic. ROLLBACK on the returned client lets the log take the held batches.
 */
export async function holdLogPartitions(dataDir: string, topic: string): Promise<Client> {
  const db = await connectDataDirDb(dataDir);
  await db.query('BEGIN');
  await db.query('SELECT * FROM log_partitions WHERE topic = $1 FOR UPDATE', [topic]);
  // Watched from a second session: inside the holding transaction pg_stat_activity is the snapshot of its
  // first read, so a server session that starts waiting after that read would never show.
  const watch = await connectDataDirDb(dataDir);
  try {
    for (let waited = 0; ; waited += 50) {
      const { rows } = await watch.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'tessera' AND wait_event_type = 'Lock'`);
      if (rows[0].n > 0) return db;
      if (waited > 20_000) throw new Error('no server session waited on the held log partitions within 20 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await watch.end();
  }
}
