import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root, whether this file runs from source (jest) or from dist/ (bench, soak). */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'nest-cli.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}

/** A built file under dist/, e.g. distPath('apps/tessera/src/main.js'). */
export const distPath = (relative: string) => join(repoRoot(), 'dist', relative);
