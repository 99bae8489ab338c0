import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimDataDir, liveOwner, OWNER_FILE } from './data-dir-owner';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'tessera-owner-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

describe('claimDataDir', () => {
  it('gives the data dir to one claimant while it lives, and to the next once released', async () => {
    const mine = await claimDataDir(dir);
    expect(mine).toBeDefined();
    expect(liveOwner(dir)).toEqual({ pid: process.pid, role: 'server' });
    expect(await claimDataDir(dir)).toBeUndefined();
    mine!.release();
    expect(liveOwner(dir)).toBeUndefined();
    expect(await claimDataDir(dir)).toBeDefined();
  });

  it('records whether the owner is a server (shared) or the CLI (waited for)', async () => {
    (await claimDataDir(dir, 'client'))!;
    expect(liveOwner(dir)).toEqual({ pid: process.pid, role: 'client' });
  });

  it('takes over the claim of a process that is gone', async () => {
    writeFileSync(join(dir, OWNER_FILE), `${deadPid()} 123\n`);
    expect(liveOwner(dir)).toBeUndefined();
    expect(await claimDataDir(dir)).toBeDefined();
    expect(readFileSync(join(dir, OWNER_FILE), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
  });

  if (process.platform === 'linux') {
    it('does not take a reused pid (same pid, another start time) for the owner', async () => {
      writeFileSync(join(dir, OWNER_FILE), `${process.pid} 1\n`);
      expect(liveOwner(dir)).toBeUndefined();
      expect(await claimDataDir(dir)).toBeDefined();
    });
  }

  it('never leaves its temp file behind', async () => {
    (await claimDataDir(dir))!.release();
    expect(spawnSync('ls', ['-A', dir]).stdout.toString()).toBe('');
  });
});
