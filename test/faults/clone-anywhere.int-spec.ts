// Issue 9 item 1: a clone in a folder other users cannot enter (root's home, a `mktemp -d` folder).
// As root, PostgreSQL runs as the `postgres` OS user, which cannot reach the clone's binaries nor a
// data dir inside it: the server must still start from such a clone (binaries and cluster then live
// under /var/lib/tessera, `<dataDir>/pg` links there). The build is hard-linked into a 0700 folder.
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from '../support/paths';
import { ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

describe('given a copy of the build in a folder only its owner can enter (mode 0700)', () => {
  let folder: string;
  let clone: string;
  let server: SingleNode | undefined;

  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'tessera-clone-'));
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    clone = join(folder, 'tessera');
    mkdirSync(clone);
    const root = repoRoot();
    execFileSync('cp', ['-al', ...['dist', 'node_modules', 'package.json', 'nest-cli.json'].map((f) => join(root, f)), clone]);
  });

  afterAll(async () => {
    await server?.stop('SIGTERM');
    const link = join(clone, '.tessera', 'pg');
    if (lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink()) rmSync(dirname(readlinkSync(link)), { recursive: true, force: true });
    rmSync(folder, { recursive: true, force: true });
  });

  it('when the server starts from it with the default data dir, then it serves, and stops cleanly', async () => {
    server = await startSingleNode({
      main: join(clone, 'dist/apps/tessera/src/main.js'),
      cwd: clone,
      dataDir: join(clone, '.tessera'),
      env: { TESSERA_DATA_DIR: './.tessera' },
    });
    const api = new ProfilesClient(server.url, server.publicKey, server.privateKey);
    expect((await api.post({ attributes: { email: 'clone@example.com', first_name: 'Ada' } })).status).toBe(202);
    expect((await api.until('email=clone%40example.com')).attributes.first_name).toBe('Ada');
    if (userInfo().uid === 0) {
      // PostgreSQL's OS user cannot enter the clone: its cluster lives under /var/lib/tessera/data.
      expect(readlinkSync(join(clone, '.tessera', 'pg'))).toMatch(/^\/var\/lib\/tessera\/data\/tessera-\.tessera-[0-9a-f]{12}\/pg$/);
    }
    expect(await server.stop('SIGTERM')).toBe(0);
    server = undefined;
  });
});
