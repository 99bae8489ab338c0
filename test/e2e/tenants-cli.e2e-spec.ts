import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { embeddedPostgresUrl } from '@tessera/store';
import { npmTessera, tesseraCli } from '../support/faults/cli';
import { distPath, repoRoot } from '../support/paths';
import { ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const run = promisify(execFile);

let server: SingleNode;

async function eventuallyStatus(send: () => Promise<{ status: number }>, want: number, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let status = 0;
  while (Date.now() < deadline && (status = (await send()).status) !== want) await new Promise((r) => setTimeout(r, 500));
  return status;
}

/** `npm run tessera -- …` against the running server's data dir (shares its embedded PostgreSQL). */
const tessera = (...args: string[]) => tesseraCli(server.dataDir, ...args);

const buildIfStale = () => run(process.execPath, ['scripts/build.js', '--if-stale'], { cwd: repoRoot() });

async function tenantSettings(id: string): Promise<Record<string, unknown> | undefined> {
  const db = new Client({ connectionString: embeddedPostgresUrl(server.dataDir, 'tessera') });
  await db.connect();
  try {
    return (await db.query('SELECT settings FROM tenants WHERE id = $1', [id])).rows[0]?.settings;
  } finally {
    await db.end();
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

  it('when the CLI adds an identifier type, then it is the schema API\'s: listed by GET /v3/schema/identifiers, and a name in use is refused (exit 1)', async () => {
    const added = await tessera('tenants', 'add-identifier', 'default', '--type', 'member_card_id', '--confidence', 'low', '--limit', '2');
    expect(added).toMatchObject({ code: 0, stdout: expect.stringContaining('member_card_id') });
    const listed = (await fetch(`${server.url}/v3/schema/identifiers`, { headers: { 'x-api-key': server.privateKey } }).then((r) => r.json())) as { identifiers: unknown[] };
    expect(listed.identifiers).toContainEqual({ name: 'member_card_id', display_name: 'Member Card ID', merge_confidence: 'low', messaging: false });
    expect((await tenantSettings('default'))?.identifierTypes).toContainEqual(expect.objectContaining({ type: 'member_card_id', confidence: 'low', perProfileLimit: 2 }));
    // Declared again (by the CLI or over HTTP): the same refusal as the API's "already used by another object".
    const again = await tessera('tenants', 'add-identifier', 'default', '--type', 'member_card_id', '--confidence', 'high');
    expect(again).toMatchObject({ code: 1, stdout: '' });
    expect(again.stderr).toMatch(/identifier type 'member_card_id' is already used by another object/);
    const viaHttp = await fetch(`${server.url}/v3/schema/identifiers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': server.privateKey },
      body: JSON.stringify({ name: 'member_card_id', display_name: 'Member card', merge_confidence: 'high', messaging: false }),
    });
    expect(viaHttp.status).toBe(400);
    // A name the schema API refuses is a usage error naming --type (exit 2), whatever the tenant.
    for (const tenant of ['default', 'nosuch']) {
      const bad = await tessera('tenants', 'add-identifier', tenant, '--type', 'member_card', '--confidence', 'high');
      expect({ code: bad.code, stdout: bad.stdout }).toEqual({ code: 2, stdout: '' });
      expect(bad.stderr).toMatch(/--type must match/);
    }
  }, 60_000);

  it('when the dead-letter queue is listed, then it reports its size', async () => {
    const listed = await tessera('dlq', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toBe(''); // one JSON line per dead letter; the count is a message (stderr)
    expect(listed.stderr).toMatch(/^0 dead letter\(s\)$/m);
  });
});

describe('given the CLI used by a person or a script (issue 9)', () => {
  it('when a key is created for an unknown tenant, then it fails naming the tenant and creates nothing', async () => {
    const r = await tessera('keys', 'create', '--tenant', 'nosuch', '--kind', 'public');
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toMatch(/no tenant 'nosuch'/);
    expect((await tessera('tenants', 'list')).stdout).not.toMatch(/^nosuch\t/m);
    expect(await tenantSettings('nosuch')).toBeUndefined();
  });

  it('when a tenant is created twice, then the second call says it exists on stderr and changes nothing (exit 0)', async () => {
    expect(await tessera('tenants', 'create', 'twice', '--name', 'First')).toMatchObject({ code: 0, stdout: 'tenant twice (First)\n' });
    const again = await tessera('tenants', 'create', 'twice', '--name', 'Second');
    expect(again).toMatchObject({ code: 0, stdout: '' });
    expect(again.stderr).toMatch(/tenant twice already exists \(First\); nothing changed/);
    expect((await tessera('tenants', 'list')).stdout).toMatch(/^twice\tFirst\t/m);
  });

  it('when settings are changed for an unknown tenant or a key matches nothing, then exit 1 naming it', async () => {
    for (const args of [
      ['tenants', 'set-rate-limit', 'nosuch', '--items-per-second', '5'],
      ['tenants', 'add-identifier', 'nosuch', '--type', 'loyalty_id', '--confidence', 'high'],
      ['tenants', 'set-region', 'nosuch', 'US'],
      ['keys', 'list', '--tenant', 'nosuch'],
    ]) {
      const r = await tessera(...args);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 1, stdout: '' });
      expect(r.stderr).toMatch(/no tenant 'nosuch'/);
    }
    expect(await tessera('keys', 'revoke', 'tpk_nosuchkey')).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/no active key matches 'tpk_nosuchkey'/) });
  });

  it.each([
    [['dlq', 'list', '--limit', 'abc'], /--limit must be .*integer/],
    [['dlq', 'list', '--limit', '0'], /--limit must be .*integer/],
    [['dlq', 'list', '--limit', '1.5'], /--limit must be .*integer/],
    [['dlq', 'list', '--limit'], /--limit <value>' argument missing/],
    [['tenants', 'set-rate-limit', 'default', '--items-per-second', 'fast'], /--items-per-second must be a positive number \(got "fast"\)/],
    [['tenants', 'add-identifier', 'default', '--type', 'card_id', '--confidence', 'high', '--limit', 'x'], /--limit must be an integer from 1/],
    [['keys', 'create', '--tenant', 'default', '--kind', 'public', '--bogus'], /Unknown option '--bogus'/],
    [['keys', 'create', '--tenant', 'default', '--kind', 'public', '--limit', '3'], /Unknown option '--limit'/],
    [['tenants', 'list', '--tenant', 'x'], /Unknown option '--tenant'/],
    [['tenants', 'frobnicate'], /unknown command: tenants frobnicate/],
    [['frobnicate'], /unknown command: frobnicate/],
    [[], /a command is required/],
    [['keys', 'revoke', 'a', 'b'], /unexpected argument 'b'/],
    [['replay', 'now'], /unexpected argument 'now'/],
  ])('when the command line is %j, then a usage error on stderr, nothing on stdout, exit 2', async (args, message) => {
    const r = await tessera(...(args as string[]));
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/usage: npm run tessera/);
  });

  it('when a tenant sets region GB, then its national-format phones are stored and found as +44 E.164', async () => {
    expect((await tessera('tenants', 'create', 'uk')).code).toBe(0);
    expect((await tessera('tenants', 'set-region', 'uk', 'GB')).code).toBe(0);
    const publicKey = (await tessera('keys', 'create', '--tenant', 'uk', '--kind', 'public')).stdout.trim();
    const privateKey = (await tessera('keys', 'create', '--tenant', 'uk', '--kind', 'private')).stdout.trim();
    const uk = new ProfilesClient(server.url, publicKey, privateKey);
    expect((await uk.post({ attributes: { phone: '020 7946 0018', first_name: 'Londoner' } })).status).toBe(202);
    const found = await uk.until('phone=%2B442079460018');
    expect(found.attributes.first_name).toBe('Londoner');
  }, 30_000);

  it('when help is asked for, then the usage on stdout, exit 0', async () => {
    const r = await tessera('--help');
    expect(r).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/^usage: npm run tessera -- <command>/) });
    expect(r.stdout).toMatch(/tenants set-region <id> <CC>/);
  });

  it('when a default phone region is set, then it is stored as the tenant setting defaultRegion; a non-country is refused', async () => {
    expect(await tessera('tenants', 'set-region', 'default', 'gb')).toMatchObject({ code: 0, stdout: expect.stringMatching(/default phone region GB/) });
    expect(await tenantSettings('default')).toMatchObject({ defaultRegion: 'GB' });
    for (const code of ['ZZ', 'USA', 'U1', 'xx']) {
      const r = await tessera('tenants', 'set-region', 'default', code);
      expect({ code, exit: r.code, stdout: r.stdout }).toEqual({ code, exit: 2, stdout: '' });
      expect(r.stderr).toMatch(new RegExp(`'${code}' is not an ISO 3166-1 alpha-2 country code`));
    }
    expect(await tenantSettings('default')).toMatchObject({ defaultRegion: 'GB' });
    expect(await tessera('tenants', 'set-region', 'default', 'US')).toMatchObject({ code: 0 });
    expect(await tenantSettings('default')).toMatchObject({ defaultRegion: 'US' });
  });

  it('when a key is captured with $(npm run --silent tessera -- keys create …), then stdout is exactly the key; dist/ is not rebuilt', async () => {
    await buildIfStale(); // a source edited since jest's global set-up would rebuild here, not below
    const built = statSync(distPath('apps/cli/src/main.js')).mtimeMs;
    const r = await npmTessera(server.dataDir, 'keys', 'create', '--tenant', 'default', '--kind', 'public');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tpk_[A-Za-z0-9_-]+\n$/);
    expect(r.stderr).not.toMatch(/built \d+ files/);
    expect(statSync(distPath('apps/cli/src/main.js')).mtimeMs).toBe(built);
    const client = new ProfilesClient(server.url, r.stdout.trim(), server.privateKey);
    expect((await client.post({ attributes: { email: 'captured-key@example.com' } })).status).toBe(202);
  }, 60_000);

  it('when dist/ is current, then the build check costs well under 0.5 s', async () => {
    await buildIfStale();
    const started = Date.now();
    const { stdout, stderr } = await buildIfStale();
    const ms = Date.now() - started;
    console.log(`build --if-stale on a current dist/: ${ms} ms`);
    expect({ stdout, stderr }).toEqual({ stdout: '', stderr: '' });
    expect(ms).toBeLessThan(500);
  });
});

describe('given the CLI and /api/v1/tenants (one service, issue 11)', () => {
  const adminKey = () => /admin key: +(\S+)/.exec(server.output())![1];
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey()}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json().catch(() => undefined)) as any }));

  it('when a tenant and a restricted key are made with the CLI, then the HTTP API lists them; the key prints alone on stdout and is revoked by its 12-character prefix', async () => {
    expect((await tessera('tenants', 'create', 'clihttp', '--name', 'CLI and HTTP')).code).toBe(0);
    expect((await admin('GET', '/api/v1/tenants/clihttp')).body).toMatchObject({ name: 'clihttp', display_name: 'CLI and HTTP' });
    const created = await tessera('keys', 'create', '--tenant', 'clihttp', '--kind', 'read', '--restrictions', 'DE, FR');
    expect(created.stdout).toMatch(/^trk_[A-Za-z0-9_-]{32}\n$/);
    expect(created.stderr).toMatch(/restricted to DE, FR/);
    const key = created.stdout.trim();
    const listed = (await admin('GET', '/api/v1/tenants/clihttp/keys')).body.keys;
    expect(listed).toEqual([expect.objectContaining({ prefix: key.slice(0, 12), kind: 'read', restrictions: ['DE', 'FR'], revoked_at: null })]);
    expect((await tessera('keys', 'list', '--tenant', 'clihttp')).stdout).toBe(`${key.slice(0, 12)}…\tclihttp\tread\t\tactive\tDE,FR\n`);
    // The listed form (with its ellipsis) is accepted too.
    expect(await tessera('keys', 'revoke', `${key.slice(0, 12)}…`)).toMatchObject({ code: 0, stdout: 'revoked 1 key(s)\n' });
    expect((await admin('GET', '/api/v1/tenants/clihttp/keys')).body.keys[0].revoked_at).toEqual(expect.any(String));
  });

  it('when the region or rate limit is set with the CLI, then GET /api/v1/tenants/{tenant} answers it; PATCH answers the same settings the CLI reads', async () => {
    expect((await tessera('tenants', 'set-region', 'clihttp', 'de')).code).toBe(0);
    expect((await tessera('tenants', 'set-rate-limit', 'clihttp', '--items-per-second', '50', '--burst', '100')).code).toBe(0);
    expect((await admin('GET', '/api/v1/tenants/clihttp')).body).toMatchObject({ default_region: 'DE', rate_limit: { items_per_second: 50, burst: 100 } });
    expect((await admin('PATCH', '/api/v1/tenants/clihttp', { default_region: 'FR' })).status).toBe(200);
    expect(await tenantSettings('clihttp')).toMatchObject({ defaultRegion: 'FR', rateLimit: { itemsPerSecond: 50, burst: 100 } });
  });

  it('when a tenant made over HTTP is created again with the CLI, then "already exists" (exit 0); a seed-004 name error over HTTP stays a CLI usage error only for ids outside a-z, 0-9, _ and -', async () => {
    expect((await admin('POST', '/api/v1/tenants', { name: 'madeoverhttp' })).status).toBe(201);
    const again = await tessera('tenants', 'create', 'madeoverhttp');
    expect(again).toMatchObject({ code: 0, stdout: '' });
    expect(again.stderr).toMatch(/tenant madeoverhttp already exists/);
    expect((await tessera('tenants', 'create', 'with-dash')).code).toBe(0); // ids as before issue 11
    expect((await admin('POST', '/api/v1/tenants', { name: 'with-dash2' })).status).toBe(400);
    const bad = await tessera('tenants', 'create', 'Upper');
    expect({ code: bad.code, stdout: bad.stdout }).toEqual({ code: 2, stdout: '' });
  });
});

describe('given a bad environment variable', () => {
  it('when PORT=abc, then the error names the value given, once', async () => {
    const r = await run(process.execPath, [distPath('apps/tessera/src/main.js')], { env: { ...process.env, PORT: 'abc', DATABASE_URL: '', KAFKA_BROKERS: '' } }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/PORT: PORT must be an integer number \(got "abc"\)/);
    expect(r.stderr.match(/got /g)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/null/);
  });
});
