import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const fixturesDir = new URL('../fixtures/', import.meta.url).pathname;

/** Golden cases, Telegraf-style: `test/fixtures/<suite>/<case>/{input.json, expected.json}`. */
export function goldenCases<I, E>(suite: string): Array<{ name: string; input: I; expected: E }> {
  const dir = join(fixturesDir, suite);
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => ({
      name,
      input: JSON.parse(readFileSync(join(dir, name, 'input.json'), 'utf8')) as I,
      expected: JSON.parse(readFileSync(join(dir, name, 'expected.json'), 'utf8')) as E,
    }));
}
