import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Anju's own package.json, found by walking up from this file: it runs from the sources (tsx,
 * `cli/`), from the build (`dist/cli/`) or from a test bundle, at different depths.
 */
export function packageVersion(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'anju' && pkg.version) return pkg.version;
    }
    if (dirname(dir) === dir) return '0.0.0-unknown';
  }
}
