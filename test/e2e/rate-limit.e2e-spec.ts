import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const CLI = resolve(__dirname, '../../dist/apps/cli/src/main.js');
let server: SingleNode;
let api: ProfilesClient;

beforeAll(async () => {
  // A small default bucket: 50 items/s, burst 100.
  server = await startSingleNode({ env: { TESSERA_RATE_LIMIT: '50', TESSERA_RATE_BURST: '100' } });
  api = new ProfilesClient(server.url, server.publicKey, server.privateKey);
});

afterAll(async () => {
  await server.stop();
  server.cleanup();
});

const items = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ attributes: { email: `${tag}.${i}@rate.example` } }));

describe('given a tenant over its rate limit', () => {
  it('when it posts more items than its bucket holds, then 429 with Retry-After, and the accepted batch is applied', async () => {
    expect((await api.post(items(100, 'a'))).status).toBe(202);
    const limited = await api.post(items(10, 'b'));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.body).toMatchObject({ title: 'Too Many Requests', status: 429, detail: { message: expect.stringMatching(/rate limit/) } });
    expect((await api.until('email=a.99@rate.example')).attributes.email).toBe('a.99@rate.example');
    expect((await api.get('email=b.0@rate.example')).status).not.toBe(200);
  });

  it('when the tenant waits for Retry-After, then it may post again', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    expect((await api.post(items(20, 'c'))).status).toBe(202);
  });

  it('when an operator raises the tenant limit with the CLI, then the new limit applies', async () => {
    await promisify(execFile)(process.execPath, [CLI, 'tenants', 'set-rate-limit', 'default', '--items-per-second', '100000', '--burst', '100000'], {
      env: { ...process.env, DATABASE_URL: '', TESSERA_DATA_DIR: server.dataDir, LOG_LEVEL: 'warn' },
    });
    // Tenant settings are cached for up to 5 s in the server.
    const deadline = Date.now() + 40_000;
    // Under the old limit a full bucket still lets one oversized batch through (leaving it in debt),
    // so the new limit shows as several 500-item batches accepted back to back.
    let accepted = 0;
    while (Date.now() < deadline && accepted < 5) {
      const status = (await api.post(items(500, 'd'))).status;
      accepted = status === 202 ? accepted + 1 : 0;
      if (status !== 202) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(accepted).toBe(5);
  }, 60_000);
});
