/**
 * The Apache Kafka broker's jars, resolved from Maven Central with the machine's `mvn` into a cache
 * folder outside the repository, and the `java` that runs them (DESIGN §13).
 *
 *   TESSERA_KAFKA_VERSION    the org.apache.kafka:kafka_2.13 version (default DEFAULT_KAFKA_VERSION)
 *   TESSERA_KAFKA_CACHE_DIR  the cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/tessera/kafka);
 *                            each version lives in <root>/<version>/lib. Maven's own repository
 *                            (~/.m2, or -Dmaven.repo.local in MAVEN_OPTS) is used as usual.
 *   JAVA_HOME                the JDK to run the broker (else `java` on PATH); 4.x needs Java 17+.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

/** The newest Kafka 4.x Maven Central serves here (checked 2026-12); KAFKA_3_9_VERSION is run once per release. */
export const DEFAULT_KAFKA_VERSION = '4.4.0';
export const KAFKA_3_9_VERSION = '3.9.2';
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
/** 3.x logs through slf4j 1.7 with no binding in its runtime scope; this is the one its distribution ships. */
const RELOAD4J_BINDING = [
  { groupId: 'org.slf4j', artifactId: 'slf4j-reload4j', version: '1.7.36' },
  { groupId: 'ch.qos.reload4j', artifactId: 'reload4j', version: '1.2.25' },
];

export function kafkaVersion(env: NodeJS.ProcessEnv = process.env): string {
  const v = (env.TESSERA_KAFKA_VERSION ?? '').trim();
  if (v === '') return DEFAULT_KAFKA_VERSION;
  if (!/^\d+\.\d+\.\d+$/.test(v)) throw new Error(`TESSERA_KAFKA_VERSION must be a Kafka release like 4.4.0 or 3.9.2, got "${v}"`);
  return v;
}

/** Where a version's jars are cached: never inside the clone, wherever it lives. */
export function kafkaCacheDir(version: string, env: NodeJS.ProcessEnv = process.env): string {
  const root =
    env.TESSERA_KAFKA_CACHE_DIR ||
    join(env.XDG_CACHE_HOME || join(env.HOME || safeHomedir() || tmpdir(), '.cache'), 'tessera', 'kafka');
  return join(root, version);
}

function safeHomedir(): string | null {
  try {
    return homedir() || null;
  } catch {
    return null;
  }
}

export const isKafka3 = (version: string) => version.startsWith('3.');

/** The lib folder of a version if its jars are already cached. */
export function cachedKafkaLib(version: string): string | null {
  const lib = join(kafkaCacheDir(version), 'lib');
  return existsSync(join(lib, `kafka_2.13-${version}.jar`)) ? lib : null;
}

const resolving = new Map<string, Promise<string>>();

/**
 * The folder holding kafka_2.13-<version>.jar, its runtime dependencies and an slf4j binding,
 * resolved with Maven on first use (a throwaway pom in a temp folder beside the cache, renamed into
 * place when complete, so a run killed halfway or two runs at once never leave a partial cache).
 */
export function resolveKafkaJars(version: string): Promise<string> {
  const cached = cachedKafkaLib(version);
  if (cached) return Promise.resolve(cached);
  let pending = resolving.get(version);
  if (!pending) {
    pending = downloadKafkaJars(version).finally(() => resolving.delete(version));
    resolving.set(version, pending);
  }
  return pending;
}

async function downloadKafkaJars(version: string): Promise<string> {
  const target = kafkaCacheDir(version);
  mkdirSync(dirname(target), { recursive: true });
  const work = mkdtempSync(`${target}.partial-`);
  try {
    const lib = join(work, 'lib');
    writeFileSync(join(work, 'pom.xml'), pomXml([{ groupId: 'org.apache.kafka', artifactId: 'kafka_2.13', version }]));
    await mvn(work, ['-f', join(work, 'pom.xml'), `${DEPENDENCY_PLUGIN}:copy-dependencies`, '-DincludeScope=runtime', `-DoutputDirectory=${lib}`]);
    if (!existsSync(join(lib, `kafka_2.13-${version}.jar`))) throw new Error(`Maven resolved no kafka_2.13-${version}.jar into ${lib}`);
    // The broker logs through slf4j; without a binding a failed start would say nothing at all.
    const binding = loggingBinding(version, readdirSync(lib));
    const bindingDir = join(work, 'binding');
    mkdirSync(bindingDir);
    writeFileSync(join(bindingDir, 'pom.xml'), pomXml(binding));
    await mvn(work, ['-f', join(bindingDir, 'pom.xml'), `${DEPENDENCY_PLUGIN}:copy-dependencies`, '-DexcludeTransitive=true', `-DoutputDirectory=${lib}`]);
    writeFileSync(join(work, 'README'), `Apache Kafka ${version} broker jars for Tessera's tests (test/support/kafka). Safe to delete.\n`);
    try {
      renameSync(work, target);
    } catch (error) {
      // Another run finished first: use its copy.
      if (!cachedKafkaLib(version)) throw error;
      rmSync(work, { recursive: true, force: true });
    }
    return join(target, 'lib');
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
}

interface MavenArtifact {
  groupId: string;
  artifactId: string;
  version: string;
}

/** 4.x: log4j2's slf4j 1.7 binding at the log4j version Kafka itself resolved; 3.x: reload4j. */
export function loggingBinding(version: string, jars: string[]): MavenArtifact[] {
  if (isKafka3(version)) return RELOAD4J_BINDING;
  const log4j = jars.map((j) => /^log4j-core-(.+)\.jar$/.exec(j)?.[1]).find(Boolean);
  if (!log4j) throw new Error(`Kafka ${version}: no log4j-core among its runtime jars (${jars.join(', ')})`);
  return [{ groupId: 'org.apache.logging.log4j', artifactId: 'log4j-slf4j-impl', version: log4j }];
}

export function pomXml(dependencies: MavenArtifact[]): string {
  const deps = dependencies
    .map((d) => `    <dependency><groupId>${d.groupId}</groupId><artifactId>${d.artifactId}</artifactId><version>${d.version}</version></dependency>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>tessera.test</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
${deps}
  </dependencies>
</project>
`;
}

function mvn(cwd: string, args: string[]): Promise<void> {
  const command = findExecutable('mvn');
  if (!command) return Promise.reject(new Error('mvn not found on PATH (needed once to fetch the Kafka broker jars)'));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, ['-B', '-q', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let output = '';
    const keep = (d: Buffer) => (output = (output + d.toString('utf8')).slice(-8_000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolvePromise() : reject(new Error(`mvn ${args.join(' ')} exited with ${code}:\n${output.trim().slice(-3_000)}`)),
    );
  });
}

/** An executable on PATH (no shell, no `which`). */
export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** JAVA_HOME's java, else the one on PATH. */
export function javaCommand(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.JAVA_HOME) {
    const java = join(env.JAVA_HOME, 'bin', 'java');
    if (existsSync(java)) return java;
  }
  return findExecutable('java', env);
}

/** The feature release of a `java -version` banner: "17.0.15" → 17, "1.8.0_402" → 8. */
export function parseJavaMajor(banner: string): number | null {
  const m = /version "(\d+)(?:\.(\d+))?/.exec(banner);
  if (!m) return null;
  const first = Number(m[1]);
  return first === 1 && m[2] ? Number(m[2]) : first;
}

const javaBanners = new Map<string, string>();

/** `java -version` output: names the exact JVM build (class-data archives are only valid for it). */
export function javaBanner(java: string): string {
  let banner = javaBanners.get(java);
  if (banner === undefined) {
    const r = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 10_000 });
    banner = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim();
    javaBanners.set(java, banner);
  }
  return banner;
}

export const javaMajor = (java: string): number | null => parseJavaMajor(javaBanner(java));

export const minimumJava = (version: string) => (isKafka3(version) ? 11 : 17);

/**
 * Why the JVM broker cannot run here, or null when it can: a java new enough for the version, and
 * either its jars cached or `mvn` to fetch them. Cheap enough for describe time (one `java -version`).
 */
export function jvmKafkaUnavailable(version = kafkaVersion()): string | null {
  const java = javaCommand();
  if (!java) return 'no java (JAVA_HOME or PATH)';
  if (!cachedKafkaLib(version) && !findExecutable('mvn')) return `no mvn on PATH and no cached jars in ${kafkaCacheDir(version)}`;
  const major = javaMajor(java);
  if (major === null) return `could not read the version of ${java}`;
  if (major < minimumJava(version)) return `Kafka ${version} needs Java ${minimumJava(version)}+, ${java} is Java ${major} (set JAVA_HOME)`;
  return null;
}

