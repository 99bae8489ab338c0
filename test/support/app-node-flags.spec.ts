import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_NODE_FLAGS } from './app-node-flags';

const root = join(__dirname, '..', '..');

describe('the node flags the apps run with', () => {
  const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

  it.each(['start', 'start:ingest', 'start:worker', 'start:query', 'tessera'])('given `npm run %s`, then node gets every flag before the app', (name) => {
    const launch = scripts[name].split('&&').pop()!.trim().split(/\s+/);
    expect(launch[0]).toBe('node');
    expect(launch.slice(1, -1)).toEqual([...APP_NODE_FLAGS]);
    expect(launch[launch.length - 1]).toMatch(/^dist\/apps\/(tessera|ingest|worker|query|cli)\/src\/main\.js$/);
  });

  it('given the Docker image, then NODE_OPTIONS carries the same flags for whichever app its command runs', () => {
    const dockerfile = readFileSync(join(root, 'docker', 'Dockerfile'), 'utf8');
    const options = /^ENV NODE_OPTIONS=(.*)$/m.exec(dockerfile)?.[1].replace(/^"|"$/g, '');
    expect(options?.split(/\s+/)).toEqual([...APP_NODE_FLAGS]);
  });
});
