import { readFileSync, unlinkSync } from 'node:fs';
import { link, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * `<dataDir>/postgres-owner` names the Tessera process that runs the data dir's PostgreSQL server
 * (pid and start time, so a reused pid is not taken for the owner). A server whose owner is alive is
 * shared, never stopped; only a dead owner's server is an orphan to clean up.
 */
export const OWNER_FILE = 'postgres-owner';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Field 22 of /proc/<pid>/stat (clock ticks since boot); '' where there is no /proc. */
function startTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

/**
 * 'server': a long-running Tessera process, whose database others share. 'client': the CLI, which runs
 * PostgreSQL for one command and stops it when done — others wait for it rather than lose the database.
 */
export type OwnerRole = 'server' | 'client';

export interface Owner {
  pid: number;
  role: OwnerRole;
}

function ownerLine(pid: number, role: OwnerRole): string {
  return `${pid} ${startTime(pid)} ${role}\n`;
}

/** The live process that owns the data dir's server, if any. */
export function liveOwner(dataDir: string): Owner | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, OWNER_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const [pidText, started = '', role = 'server'] = text.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  const same = started === '' || startTime(pid) === '' || startTime(pid) === started;
  return same ? { pid, role: role === 'client' ? 'client' : 'server' } : undefined;
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Synchronous: also called from an 'exit' handler. */
function releaseIfMine(path: string, mine: string): void {
  if (readIfExists(path) === mine) unlinkSync(path);
}

export interface Ownership {
  /** Gives the data dir up (after its server stopped). */
  release(): void;
}

/** Claims the data dir for this process (exclusive create); undefined when a live process owns it. */
export async function claimDataDir(dataDir: string, role: OwnerRole = 'server'): Promise<Ownership | undefined> {
  const path = join(dataDir, OWNER_FILE);
  const mine = ownerLine(process.pid, role);
  const temp = `${path}.${process.pid}`;
  // Written whole to a temp file, then linked into place: the claim never exists half-written.
  const file = await open(temp, 'w', 0o644);
  try {
    await file.writeFile(mine);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        await link(temp, path);
        return { release: () => releaseIfMine(path, mine) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const seen = readIfExists(path);
      if (liveOwner(dataDir) !== undefined) return undefined;
      if (readIfExists(path) === seen) await unlink(path).catch(() => undefined); // a dead owner's claim
    }
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  throw new Error(`could not claim ${dataDir}: ${path} keeps changing`);
}
