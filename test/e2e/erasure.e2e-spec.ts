// DESIGN §11 end to end, as a client and an auditor see it: a person's profile, events and consent go in
// over HTTP; a GDPR deletion request reaches COMPLETED; then none of their values is visible to SQL in
// any table of the database — the Postgres log's records included — nor after a replay; and a record
// received after the erasure starts a new profile.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { tesseraCli } from '../support/faults/cli';
import { connectDataDirDb } from '../support/faults/data-dir-db';
import { eventually, ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

let server: SingleNode;
let api: ProfilesClient;
const tag = randomBytes(4).toString('hex');
const ada = {
  email: `ada.lovelace.${tag}@example.com`,
  phone: `+1415555${String(parseInt(tag.slice(0, 4), 16) % 10_000).padStart(4, '0')}`,
  vuid: randomUUID(),
  first_name: `Adaq${tag}`,
  last_name: `Lovelacez${tag}`,
};
const note = `secret-note-${tag}`;
/** Every value of Ada's that must vanish, as stored (normalised) and as sent. */
const adaValues = [ada.email, ada.email.toUpperCase(), ada.phone, ada.phone.slice(2), ada.vuid, ada.first_name, ada.last_name, note];

async function call(method: 'GET' | 'POST', path: string, body: unknown, key: string) {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), 'x-api-key': key },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, text, body: text ? JSON.parse(text) : undefined };
}

/**
 * Every row of every table as text, bytea columns as text too (the Postgres log's values are bytea, and
 * a row's text form shows them hex-encoded), with the table's name.
 */
async function everyRow(db: Client): Promise<Array<{ table: string; row: string }>> {
  const { rows: tables } = await db.query<{ table_schema: string; table_name: string }>(
    `SELECT table_schema, table_name FROM information_schema.tables
     WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE' ORDER BY 1, 2`,
  );
  const out: Array<{ table: string; row: string }> = [];
  for (const t of tables) {
    const name = `"${t.table_schema}"."${t.table_name}"`;
    const { rows: columns } = await db.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND data_type = 'bytea'`,
      [t.table_schema, t.table_name],
    );
    const decoded = columns.map((c) => `, encode("${c.column_name}", 'escape') AS "${c.column_name}__text"`).join('');
    const { rows } = await db.query(`SELECT t::text AS row ${decoded} FROM ${name} t`);
    for (const r of rows) out.push({ table: name, row: Object.values(r).join(' ') });
  }
  return out;
}

/** Rows (by table) that contain any of the values, in any case, plain or hex-encoded. */
function findValues(rows: Array<{ table: string; row: string }>, values: string[]): string[] {
  const needles = values.flatMap((v) => [v.toLowerCase(), Buffer.from(v).toString('hex')]);
  return rows.filter((r) => needles.some((n) => r.row.toLowerCase().includes(n))).map((r) => `${r.table}: ${r.row.slice(0, 300)}`);
}

beforeAll(async () => {
  server = await startSingleNode();
  api = new ProfilesClient(server.url, server.publicKey, server.privateKey);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  server?.cleanup();
});

describe('given a person with a profile, events and a consent', () => {
  it('when erased, then COMPLETED means none of their values is in any table (the log included), a replay does not bring them back, and a later record starts a new profile', async () => {
    // Step 1: the person, over HTTP.
    expect((await api.post([{ attributes: ada }])).status).toBe(202);
    const events = await call('POST', '/v3/events', [{ type: 'order', action: 'purchase', identifiers: { email: ada.email, vuid: ada.vuid }, data: { note } }], server.publicKey);
    expect(events.status).toBe(202);
    const consent = await call(
      'POST',
      '/v3/consent',
      [{ identifier_field_name: 'email', identifier_value: ada.email, consent: false, consent_update_reason: 'unsubscribed', consent_update_ts: Math.floor(Date.now() / 1000) - 5 }],
      server.publicKey,
    );
    expect(consent.status).toBe(202);
    const before = await api.until(`email=${encodeURIComponent(ada.email)}`, (p) => p.attributes?.last_name === ada.last_name, 30_000);
    // Someone else stays.
    const grace = `grace.hopper.${tag}@example.com`;
    expect((await api.post([{ attributes: { email: grace, first_name: `Graceq${tag}` } }])).status).toBe(202);
    await api.until(`email=${encodeURIComponent(grace)}`);
    let db = await connectDataDirDb(server.dataDir);
    try {
      // The search finds what is there, in the log's (bytea) records too.
      const rows = await everyRow(db);
      const inLog = (value: string) => findValues(rows.filter((r) => r.table === '"public"."log_records"'), [value]).length;
      expect([ada.email, ada.last_name, ada.vuid, note].map(inLog).every((n) => n > 0)).toBe(true);
    } finally {
      await db.end();
    }

    // Step 2: the deletion request, until COMPLETED.
    const erase = await call('POST', '/v3/compliance/gdpr/delete', [{ requester: 'dpo@tenant.example', identifier_field_name: 'email', identifier_value: ada.email }], server.privateKey);
    expect(erase.status).toBe(202);
    const [requestId] = erase.body.request_ids as string[];
    await eventually(async () => {
      const s = await call('GET', `/v3/compliance/gdpr/status/${requestId}`, undefined, server.privateKey);
      return s.body === 'COMPLETED' ? true : undefined;
    }, 90_000, 500).catch((error) => {
      throw new Error(`${String(error)}\nserver output:\n${server.output().slice(-4000)}`);
    });
    expect((await api.get(`email=${encodeURIComponent(ada.email)}`)).status).toBe(404);
    expect((await api.get(`vuid=${ada.vuid}`)).status).toBe(404);

    // Step 3: no table holds a value of Ada's; Grace is untouched.
    db = await connectDataDirDb(server.dataDir);
    try {
      const rows = await everyRow(db);
      expect(findValues(rows, adaValues)).toEqual([]);
      expect(findValues(rows, [grace]).length).toBeGreaterThan(0);
    } finally {
      await db.end();
    }

    // Step 4: a replay (the server stopped: a replay never runs beside a worker) brings nothing back.
    expect(await server.stop()).toBe(0);
    const replay = await tesseraCli(server.dataDir, 'replay');
    expect(replay.code).toBe(0);
    server = await startSingleNode({ dataDir: server.dataDir });
    api = new ProfilesClient(server.url, server.publicKey, server.privateKey);
    await api.until(`email=${encodeURIComponent(grace)}`);
    expect((await api.get(`email=${encodeURIComponent(ada.email)}`)).status).toBe(404);
    db = await connectDataDirDb(server.dataDir);
    try {
      expect(findValues(await everyRow(db), adaValues)).toEqual([]);
    } finally {
      await db.end();
    }

    // Step 5: a record received after the erasure starts a new profile, with nothing of the old one.
    expect((await api.post([{ attributes: { email: ada.email, first_name: 'Second' } }])).status).toBe(202);
    const after = await api.until(`email=${encodeURIComponent(ada.email)}`, undefined, 30_000);
    expect(after.attributes.zaius_id).not.toBe(before.attributes.zaius_id);
    expect(after.attributes.first_name).toBe('Second');
    expect(after.attributes.last_name).toBeUndefined();
    expect(after.attributes.phone).toBeUndefined();
  }, 240_000);
});
