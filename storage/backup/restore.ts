import { copyFile, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { manifestFile, manifestSchema, sha256File, type BackupManifest } from './manifest.js';

/** Reads a backup's manifest and checks every file it lists: size and SHA-256. */
export async function verifyBackup(dir: string): Promise<BackupManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, manifestFile), 'utf8');
  } catch {
    throw new Error(`${dir} holds no ${manifestFile}: not an Anju backup, or one that did not finish`);
  }
  const parsed = manifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${join(dir, manifestFile)} is not a manifest this version reads: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const manifest = parsed.data;
  if (!manifest.files.some((f) => f.path === 'anju.duckdb')) throw new Error(`${dir}: the backup lists no database`);
  for (const f of manifest.files) {
    const path = join(dir, f.path);
    const size = await stat(path).then((s) => s.size, () => undefined);
    if (size === undefined) throw new Error(`${dir}: ${f.path} is missing; the backup is incomplete`);
    if (size !== f.bytes || (await sha256File(path)) !== f.sha256) throw new Error(`${dir}: ${f.path} does not match its checksum; the backup is damaged — use another one`);
  }
  return manifest;
}

/**
 * Throws when a running Anju holds the database in `dataDir` (DuckDB locks its file); otherwise holds
 * the file open read-only — a shared lock, which an Anju starting meanwhile cannot take its write lock
 * past — until `release()`. Checked once and let go, a node started during the copy (a service manager
 * restarting it) wrote for minutes into the directory about to be moved aside.
 */
async function holdDataDir(dataDir: string): Promise<{ release(): void }> {
  const file = join(dataDir, 'anju.duckdb');
  if (!(await stat(file).then(() => true, () => false))) return { release: () => undefined };
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  } catch (err) {
    if (/lock/i.test((err as Error).message)) throw new Error(`Anju is running on ${dataDir} (its database is locked): stop it, then restore`);
    throw err;
  }
  return { release: () => instance.closeSync() };
}

export interface RestoreResult {
  manifest: BackupManifest;
  /** Where the data directory that was there before went (nothing is deleted). */
  previous?: string;
}

/**
 * Puts a verified backup in place of `dataDir`, on a stopped node. The backup is copied next to
 * the data dir first and renamed into place, so a restore cut short never leaves half a data dir
 * under the real name; the data dir it replaces is renamed aside, not deleted. On the next start
 * the spool replays what it held, and the schema migrates forward if the backup is older.
 */
export async function restoreBackup(source: string, dataDir: string, options: {
  knownSchemaVersion: number; now?: () => Date;
  /** How a file is copied (tests hold it). */
  copy?: (from: string, to: string) => Promise<void>;
}): Promise<RestoreResult> {
  const copy = options.copy ?? copyFile;
  const manifest = await verifyBackup(source);
  if (manifest.schemaVersion > options.knownSchemaVersion) {
    throw new Error(`the backup is at schema version ${manifest.schemaVersion}, newer than this Anju knows (${options.knownSchemaVersion}): restore it with the version that made it (or a later one)`);
  }
  const held = await holdDataDir(dataDir);
  try {
    const stamp = (options.now?.() ?? new Date()).toISOString().replace(/[:.]/g, '-');
    const staging = join(dirname(dataDir), `.${basename(dataDir)}.restoring-${stamp}`);
    await rm(staging, { recursive: true, force: true });
    await mkdir(join(staging, 'spool'), { recursive: true });
    for (const f of manifest.files) await copy(join(source, f.path), join(staging, f.path));

    let previous: string | undefined;
    const existing = await readdir(dataDir).catch(() => undefined);
    if (existing) {
      if (existing.length > 0) {
        previous = `${dataDir}.before-restore-${stamp}`;
        await rename(dataDir, previous);
      } else {
        await rm(dataDir, { recursive: true });
      }
    }
    await rename(staging, dataDir);
    return { manifest, previous };
  } finally {
    held.release();
  }
}
