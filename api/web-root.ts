import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the built control room lives: `<package root>/dist/web`, whether this file runs from the
 * sources (tsx) or from dist/ (the build), found by walking up to the package.json.
 */
export function defaultWebRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return join(dirname(from), 'web');
    dir = up;
  }
  return join(dir, 'dist', 'web');
}
