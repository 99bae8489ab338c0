import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { HttpEnv, loadEnv } from '@tessera/config';

// No container engine runs here, so the compose file is checked statically against the config.
describe('docker/docker-compose.yml', () => {
  const compose = parse(readFileSync(join(__dirname, 'docker-compose.yml'), 'utf8'), { merge: true });
  const services = compose.services as Record<string, Record<string, unknown>>;

  it('given the scale-out layout, then it has Kafka (KRaft), PostgreSQL and separate ingest, worker and query apps', () => {
    expect(Object.keys(services).sort()).toEqual(['ingest', 'kafka', 'postgres', 'query', 'worker']);
    expect((services.kafka.environment as Record<string, string>).KAFKA_PROCESS_ROLES).toContain('controller');
  });

  it.each(['ingest', 'worker', 'query', 'kafka', 'postgres'])('service %s has an image or build, an environment and ports', (name) => {
    const s = services[name];
    expect(s.image ?? s.build).toBeTruthy();
    expect(s.environment).toBeTruthy();
    expect(Array.isArray(s.ports) && (s.ports as unknown[]).length).toBeTruthy();
  });

  it.each(['ingest', 'worker', 'query'])('app %s: its environment passes the config validation and its port is published', (name) => {
    const s = services[name];
    const env = loadEnv(HttpEnv, s.environment as NodeJS.ProcessEnv);
    expect(env.KAFKA_BROKERS).toBe('kafka:9092');
    // The compose file runs one broker: topics must not ask for more replicas than it has.
    expect(env).toMatchObject({ TESSERA_KAFKA_REPLICATION_FACTOR: 1, TESSERA_KAFKA_MIN_INSYNC_REPLICAS: 1 });
    expect(env.DATABASE_URL).toMatch(/@postgres:5432\//);
    expect((s.ports as string[]).map((p) => p.split(':').pop())).toContain(String(env.PORT));
    expect((s.command as string[]).join(' ')).toContain(`dist/apps/${name}/src/main.js`);
    expect(s.build).toEqual({ context: '..', dockerfile: 'docker/Dockerfile' });
  });

  it('given `up --scale worker=3`, then the worker publishes no fixed host port (three containers cannot all bind one)', () => {
    for (const port of services.worker.ports as Array<string | number>) expect(String(port)).toMatch(/^\d+$/);
  });

  it('the build context leaves out what must not go into an image (.dockerignore at the context root)', () => {
    const ignored = readFileSync(join(__dirname, '..', '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const path of ['node_modules', 'dist', '.tessera', '.test-output', 'bench/results', '.git']) expect(ignored).toContain(path);
  });

  it('PostgreSQL, with its development password, is published on loopback only', () => {
    expect(services.postgres.ports).toEqual(['127.0.0.1:5432:5432']);
  });

  it('the Dockerfile builds the apps the compose file runs', () => {
    const dockerfile = readFileSync(join(__dirname, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/npm ci/);
    expect(dockerfile).toMatch(/scripts\/build\.js/);
    expect(dockerfile).toMatch(/COPY --from=build \/app\/dist/);
  });
});
