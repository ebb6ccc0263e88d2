import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { backupFormat, manifestFile, sha256File, type BackupManifest } from './manifest.js';

/** What a backup is taken from: the data dir (for the spool) and the open database's snapshot. */
export interface BackupSource {
  dataDir: string;
  /**
   * Writes a consistent copy of the embedded database (one transaction: state, alarms, telemetry,
   * rollups) to `file` while writes go on; resolves with its schema version.
   */
  snapshot(file: string): Promise<{ schemaVersion: number }>;
}

const segmentName = /^\d{20}\.seg$/;

/**
 * A consistent backup of a running installation, without stopping ingest.
 *
 * Order matters. A reading acknowledged to its device is on disk in the spool; it reaches the
 * database later, and the forwarder then moves the checkpoint and deletes whole segments behind
 * it. So: (1) the spool first — its checkpoint C, then every segment from C's on, as they are now;
 * (2) then the database snapshot. A reading acknowledged before the backup began was appended
 * before (1): if it lies before C it was already committed, so (2) has it; if after C, its
 * segment is copied in (1) — or, if the forwarder deleted that segment meanwhile, it was
 * committed before the deletion and (2), taken later, has it. Readings between C and (2) end up in
 * both; a restore replays them and the stores keep one row per device and time, so nothing doubles.
 * A segment copied while being appended to may end in a torn record: the spool's recovery cuts it
 * (what was torn was not yet acknowledged).
 */
export async function takeBackup(source: BackupSource, target: string): Promise<BackupManifest> {
  await mkdir(target, { recursive: true });
  if ((await readdir(target)).length > 0) throw new Error(`backup directory ${target} is not empty: give a new or empty directory`);
  const spoolDir = join(source.dataDir, 'spool');
  await mkdir(join(target, 'spool'));

  let checkpointText: string | undefined;
  try {
    checkpointText = await readFile(join(spoolDir, 'checkpoint.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const checkpoint = checkpointText ? parseCheckpoint(checkpointText) : null;
  if (checkpointText !== undefined) await writeFile(join(target, 'spool', 'checkpoint.json'), checkpointText);
  let names: string[] = [];
  try {
    names = (await readdir(spoolDir)).filter((n) => segmentName.test(n)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const name of names) {
    if (checkpoint && Number(name.slice(0, 20)) < checkpoint.segment) continue;
    try {
      await copyFile(join(spoolDir, name), join(target, 'spool', name));
    } catch (err) {
      // Deleted by the forwarder since the listing: its readings are committed, so in the snapshot.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  const { schemaVersion } = await source.snapshot(join(target, 'anju.duckdb'));

  const files: BackupManifest['files'] = [];
  for (const path of ['anju.duckdb', ...(await readdir(join(target, 'spool'))).sort().map((n) => `spool/${n}`)]) {
    const full = join(target, path);
    files.push({ path, bytes: (await stat(full)).size, sha256: await sha256File(full) });
  }
  const manifest: BackupManifest = { format: backupFormat, version: 1, createdAt: new Date().toISOString(), schemaVersion, spoolCheckpoint: checkpoint, files };
  await writeFile(join(target, manifestFile), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

function parseCheckpoint(text: string): { segment: number; offset: number } | null {
  try {
    const v = JSON.parse(text) as { segment?: unknown; offset?: unknown };
    return Number.isSafeInteger(v.segment) && Number.isSafeInteger(v.offset) ? { segment: v.segment as number, offset: v.offset as number } : null;
  } catch {
    // Unreadable: the spool replays from its oldest segment, so copy them all.
    return null;
  }
}
