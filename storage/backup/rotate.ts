import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { manifestFile } from './manifest.js';

/** The folder name of a scheduled backup: sorts by time. */
export function backupFolderName(at: Date): string {
  return `anju-${at.toISOString().replace(/[:.]/g, '-')}`;
}

/**
 * Keeps the `keep` newest backups in `root` and deletes the older ones. Only folders named as
 * `backupFolderName` makes them and holding a manifest count: nothing else in `root` is touched,
 * and a backup that did not finish (no manifest) is never counted as one of those kept.
 */
export async function rotateBackups(root: string, keep: number): Promise<string[]> {
  const names = (await readdir(root)).filter((n) => /^anju-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.test(n)).sort();
  const complete: string[] = [];
  for (const n of names) {
    if (await stat(join(root, n, manifestFile)).then(() => true, () => false)) complete.push(n);
  }
  const removed = complete.slice(0, Math.max(0, complete.length - keep));
  for (const n of removed) await rm(join(root, n), { recursive: true, force: true });
  return removed;
}
