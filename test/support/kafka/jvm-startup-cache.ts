/**
 * What makes the second and later JVM broker starts fast, kept beside the jars in the cache folder:
 * - a class-data archive (AppCDS) of the classes the broker loads: the first broker of a version
 *   writes it at its graceful exit, later JVMs map it instead of parsing ~6,000 classes again
 *   (start to serving: ~10 s → ~6 s on a busy 2-core machine);
 * - formatted storage (what `StorageTool format` writes: meta.properties and the bootstrap metadata
 *   checkpoint), made once and copied into each broker's fresh data folder — one JVM launch less.
 *   Every test broker then has the same cluster id, which nothing compares across brokers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { javaBanner, javaMajor, kafkaCacheDir } from './kafka-jars';

export interface ClassDataSharing {
  jvmFlags: string[];
  /** After the JVM exited: keep the archive it wrote (only after a clean exit, never a partial one). */
  afterExit(cleanExit: boolean): void;
}

const STALE_PARTIAL_MS = 10 * 60_000;

export function classDataSharing(version: string, java: string): ClassDataSharing {
  const none: ClassDataSharing = { jvmFlags: [], afterExit: () => undefined };
  if ((javaMajor(java) ?? 0) < 13 || process.env.TESSERA_KAFKA_CDS === 'off') return none; // dynamic archives: JDK 13+
  const dir = join(kafkaCacheDir(version), 'cds');
  const key = createHash('sha256').update(`${realpathSync(java)}\n${javaBanner(java)}`).digest('hex').slice(0, 16);
  const archive = join(dir, `${key}.jsa`);
  if (existsSync(archive)) return { jvmFlags: [`-XX:SharedArchiveFile=${archive}`], afterExit: () => undefined };
  try {
    mkdirSync(dir, { recursive: true });
    removeStalePartials(dir);
  } catch {
    return none; // a read-only cache: start without
  }
  const partial = join(dir, `${key}.${process.pid}-${randomBytes(4).toString('hex')}.partial`);
  return {
    jvmFlags: [`-XX:ArchiveClassesAtExit=${partial}`],
    afterExit(cleanExit) {
      try {
        if (cleanExit && existsSync(partial) && !existsSync(archive)) renameSync(partial, archive);
      } catch {
        /* another broker won the race */
      }
      rmSync(partial, { force: true });
    },
  };
}

function removeStalePartials(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.partial')) continue;
    const file = join(dir, name);
    if (Date.now() - statSync(file).mtimeMs > STALE_PARTIAL_MS) rmSync(file, { force: true });
  }
}

/**
 * Fills `dataDir` with formatted KRaft storage: a copy of the version's template, made on first use by
 * `format(logDir)` (which must run StorageTool format with log.dirs=logDir).
 */
export async function formattedStorage(version: string, dataDir: string, format: (logDir: string) => Promise<void>): Promise<void> {
  const template = join(kafkaCacheDir(version), 'storage-template');
  if (!existsSync(template)) {
    const work = mkdtempSync(`${template}.partial-`);
    try {
      await format(join(work, 'data'));
      writeFileSync(join(work, 'README'), 'Formatted single-node KRaft storage, copied into each test broker (test/support/kafka).\n');
      renameSync(work, template);
    } catch (error) {
      rmSync(work, { recursive: true, force: true });
      if (!existsSync(template)) throw error; // else another run made it first
    }
  }
  cpSync(join(template, 'data'), dataDir, { recursive: true });
}
