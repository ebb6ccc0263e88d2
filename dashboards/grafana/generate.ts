import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dashboards } from './dashboards/index.js';

/**
 * `npm run dashboards`: writes every dashboard as Grafana JSON into `generated/`, the folder the
 * provisioning provider (`provisioning/dashboards/anju.yaml`) loads. The JSON is committed; a test
 * fails when it drifts from what this produces.
 */
export const generatedDir = join(dirname(fileURLToPath(import.meta.url)), 'generated');

/** File name → JSON text, exactly as written (2-space indent, trailing newline). */
export function renderDashboards(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, make] of Object.entries(dashboards)) out.set(`${name}.json`, `${JSON.stringify(make(), null, 2)}\n`);
  return out;
}

export async function generate(dir = generatedDir): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = renderDashboards();
  // A removed dashboard must not linger in the provisioned folder.
  for (const existing of await readdir(dir)) {
    if (existing.endsWith('.json') && !files.has(existing)) await rm(join(dir, existing));
  }
  for (const [name, text] of files) await writeFile(join(dir, name), text);
  return [...files.keys()];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const written = await generate();
  console.log(`wrote ${written.length} dashboards to ${generatedDir}: ${written.join(', ')}`);
}
