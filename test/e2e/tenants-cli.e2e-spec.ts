import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const CLI = resolve(__dirname, '../../dist/apps/cli/src/main.js');
const run = promisify(execFile);

let server: SingleNode;

async function eventuallyStatus(send: () => Promise<{ status: number }>, want: number, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let status = 0;
  while (Date.now() < deadline && (status = (await send()).status) !== want) await new Promise((r) => setTimeout(r, 500));
  return status;
}

/** `npm run tessera -- …` against the running server's data dir (shares its embedded PostgreSQL). */
async function tessera(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, DATABASE_URL: '', KAFKA_BROKERS: '', TESSERA_DATA_DIR: server.dataDir, LOG_LEVEL: 'warn' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  server = await startSingleNode();
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  server.cleanup();
});

describe('given a second tenant created with the CLI', () => {
  it('when each tenant writes a profile, then neither can read or overwrite the other', async () => {
    const created = await tessera('tenants', 'create', 'acme', '--name', 'Acme Inc');
    expect(created).toMatchObject({ code: 0, stdout: expect.stringContaining('acme') });
    const acmePublic = (await tessera('keys', 'create', '--tenant', 'acme', '--kind', 'public')).stdout.trim();
    const acmePrivate = (await tessera('keys', 'create', '--tenant', 'acme', '--kind', 'private')).stdout.trim();
    expect(acmePublic).toMatch(/^tpk_/);
    expect(acmePrivate).toMatch(/^tsk_/);

    const acme = new ProfilesClient(server.url, acmePublic, acmePrivate);
    const main = new ProfilesClient(server.url, server.publicKey, server.privateKey);
    expect((await acme.post({ attributes: { email: 'shared@example.com', owner: 'acme' } })).status).toBe(202);
    expect((await main.post({ attributes: { email: 'shared@example.com', owner: 'default' } })).status).toBe(202);
    expect((await acme.until('email=shared@example.com')).attributes.owner).toBe('acme');
    expect((await main.until('email=shared@example.com')).attributes.owner).toBe('default');

    expect((await acme.post({ attributes: { email: 'only-acme@example.com' } })).status).toBe(202);
    await acme.until('email=only-acme@example.com');
    expect((await main.get('email=only-acme@example.com')).status).toBe(404);
    const acmeId = (await acme.get('email=only-acme@example.com')).body.attributes.zaius_id;
    expect((await main.get('zaius_id=' + acmeId)).status).toBe(404);
  });

  it('when keys are listed, then only prefixes are shown; a revoked key is marked', async () => {
    const key = (await tessera('keys', 'create', '--tenant', 'acme', '--kind', 'private', '--label', 'to-revoke')).stdout.trim();
    const listed = await tessera('keys', 'list', '--tenant', 'acme');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(key.slice(0, 8));
    expect(listed.stdout).not.toContain(key);
    const client = new ProfilesClient(server.url, key, key);
    expect((await client.post({ attributes: { email: 'revoked@example.com' } })).status).toBe(202);
    expect(await tessera('keys', 'revoke', key)).toMatchObject({ code: 0, stdout: expect.stringContaining('revoked 1 key(s)') });
    expect((await tessera('keys', 'list', '--tenant', 'acme')).stdout).toMatch(/to-revoke\trevoked/);
    expect(await eventuallyStatus(() => client.post({ attributes: { email: 'revoked@example.com' } }), 403)).toBe(403);
  });

  it('when a key is revoked, then the server refuses it from at most 5 s after `keys revoke` on (README)', async () => {
    const key = (await tessera('keys', 'create', '--tenant', 'acme', '--kind', 'public')).stdout.trim();
    const client = new ProfilesClient(server.url, key, key);
    const post = () => client.post({ attributes: { email: 'revoke-bound@example.com' } }).then((r) => r.status);
    expect(await post()).toBe(202); // the server now holds the key in its cache
    const revokedAt = Date.now();
    expect((await tessera('keys', 'revoke', key)).code).toBe(0);
    // Steady traffic: poll; every request sent from 5 s on is refused, and once refused, refused for good.
    const answers: Array<{ at: number; status: number }> = [];
    while (Date.now() - revokedAt < 6_000) {
      answers.push({ at: Date.now() - revokedAt, status: await post() });
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(answers.filter((a) => a.at >= 5_000 && a.status !== 403)).toEqual([]);
    const firstRefusal = answers.find((a) => a.status === 403);
    expect(answers.filter((a) => a.at >= firstRefusal!.at && a.status !== 403)).toEqual([]);
    console.log(`revoked key: last accepted ${Math.max(-1, ...answers.filter((a) => a.status === 202).map((a) => a.at))} ms, first refused ${firstRefusal?.at} ms after \`keys revoke\` started`);
  }, 30_000);

  it('when a key is revoked and its client comes back after 5 s, then the very first request is refused (no stale answer)', async () => {
    const key = (await tessera('keys', 'create', '--tenant', 'acme', '--kind', 'public')).stdout.trim();
    const client = new ProfilesClient(server.url, key, key);
    const post = () => client.post({ attributes: { email: 'revoke-idle@example.com' } }).then((r) => r.status);
    expect(await post()).toBe(202);
    const revokedAt = Date.now();
    expect((await tessera('keys', 'revoke', key)).code).toBe(0);
    await new Promise((r) => setTimeout(r, Math.max(0, revokedAt + 5_000 - Date.now()))); // the client is idle until then
    expect(await post()).toBe(403);
  }, 30_000);

  it('when a command is wrong, then it exits non-zero with usage help', async () => {
    const bad = await tessera('keys', 'create', '--tenant', 'acme', '--kind', 'admin');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--kind must be public or private/);
    expect((await tessera('frobnicate')).code).toBe(2);
  });

  it('when replay is asked for while the server runs its worker, then it refuses and the data stays', async () => {
    const main = new ProfilesClient(server.url, server.publicKey, server.privateKey);
    await main.post({ attributes: { email: 'before-replay@example.com' } });
    await main.until('email=before-replay@example.com');
    const replay = await tessera('replay');
    expect(replay.code).toBe(1);
    expect(replay.stderr).toMatch(/stop the worker/);
    expect((await main.get('email=before-replay@example.com')).status).toBe(200);
  }, 60_000);

  it('when a tenant adds a custom identifier type, then upserts may use it and look-ups find profiles by it', async () => {
    const main = new ProfilesClient(server.url, server.publicKey, server.privateKey);
    expect((await main.post({ attributes: { loyalty_id: 'L-1', first_name: 'Before' } })).status).toBe(400);
    expect((await main.get('loyalty_id=L-1')).status).toBe(400);
    const addedAt = Date.now();
    const added = await tessera('tenants', 'add-identifier', 'default', '--type', 'loyalty_id', '--confidence', 'high');
    expect(added).toMatchObject({ code: 0, stdout: expect.stringContaining('loyalty_id') });
    // Tenant settings are cached for at most 5 s: from then on the very first request sees the new type.
    await new Promise((r) => setTimeout(r, Math.max(0, addedAt + 5_000 - Date.now())));
    expect((await main.post({ attributes: { loyalty_id: ' L-1 ', first_name: 'Loyal' } })).status).toBe(202);
    const found = await main.until('loyalty_id=L-1');
    expect(found.attributes.first_name).toBe('Loyal');
    expect(found.identifiers).toEqual({ loyalty_id: ['L-1'] });
    // High confidence: meeting an email merges the loyalty profile with the email's person.
    await main.post({ attributes: { email: 'loyal@example.com', last_name: 'Member' } });
    await main.until('email=loyal@example.com');
    await main.post({ attributes: { email: 'loyal@example.com', loyalty_id: 'L-1' } });
    const merged = await main.until('loyalty_id=L-1', (p) => p.attributes.last_name === 'Member');
    expect(merged.identifiers).toEqual({ email: ['loyal@example.com'], loyalty_id: ['L-1'] });
  }, 60_000);

  it('when the dead-letter queue is listed, then it reports its size', async () => {
    const listed = await tessera('dlq', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/0 dead-lettered record\(s\)/);
  });
});
