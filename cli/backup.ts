import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { parseArgs } from 'node:util';
import { ConfigError, type AnjuConfig } from '../core/config.js';
import { latestSchemaVersion } from '../storage/embedded/schema.js';
import { backupFolderName, backupFormat, manifestFile, restoreBackup, rotateBackups, type BackupManifest } from '../storage/index.js';

export const backupUsage = `  anju backup DIR     a consistent copy of the running node (state, alarms, telemetry, spool)
                      into DIR, without stopping ingest; through its API:
      --api URL           the node (default http://127.0.0.1:ANJU_HTTP_PORT, or https://localhost:ANJU_HTTPS_PORT)
      --token TOKEN       an admin token (default ANJU_ADMIN_TOKEN)
      --keep N            DIR is a folder of backups: write DIR/anju-<time>/, keep the N newest
  anju restore DIR    put a backup in place of ANJU_DATA_DIR, on a stopped node (the data dir
                      there before is renamed aside, not deleted)`;

export interface CommandDeps {
  stdout: NodeJS.WritableStream;
  fetch?: typeof fetch;
}

type StagedBackup = Omit<BackupManifest, 'format' | 'version'> & { id: string };

/**
 * `anju backup DIR`: asks the running node for a backup (POST /api/backups), fetches each file the
 * manifest lists, checks its size and SHA-256, writes the manifest last (a folder without one is
 * not a backup), and has the node delete its staged copy. On any failure the partial folder goes.
 */
export async function runBackupCommand(argv: string[], config: AnjuConfig, deps: CommandDeps): Promise<number> {
  const { values: v, positionals } = parseArgs({ args: argv, options: { api: { type: 'string' }, token: { type: 'string' }, keep: { type: 'string' } }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new ConfigError('anju backup needs one DIR: where to write the backup');
  const token = v.token ?? config.adminToken;
  if (!token) throw new ConfigError('anju backup needs an admin token: --token or ANJU_ADMIN_TOKEN');
  const keep = v.keep === undefined ? undefined : Number(v.keep);
  if (keep !== undefined && !(Number.isInteger(keep) && keep >= 1)) throw new ConfigError('--keep must be a whole number ≥ 1');
  const api = (v.api ?? (config.plaintext ? `http://127.0.0.1:${config.http.port}` : `https://localhost:${config.tls?.httpsPort ?? 8443}`)).replace(/\/$/, '');
  const root = resolve(positionals[0] as string);
  const target = keep === undefined ? root : join(root, backupFolderName(new Date()));
  if ((await readdir(target).catch(() => [])).length > 0) throw new ConfigError(`${target} is not empty: give a new or empty directory`);
  const doFetch = deps.fetch ?? fetch;
  const headers = { authorization: `Bearer ${token}` };

  const started = Date.now();
  let res: Response;
  try {
    res = await doFetch(`${api}/api/backups`, { method: 'POST', headers });
  } catch (err) {
    throw new ConfigError(`cannot reach Anju at ${api} (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}): is it running? Give its address with --api`);
  }
  if (res.status !== 201) throw new ConfigError(`Anju at ${api} refused the backup: ${res.status} ${await res.text()}`);
  const staged = (await res.json()) as StagedBackup;
  try {
    await mkdir(join(target, 'spool'), { recursive: true });
    for (const f of staged.files) {
      const file = await doFetch(`${api}/api/backups/${staged.id}/files/${f.path}`, { headers });
      if (file.status !== 200 || !file.body) throw new Error(`fetching ${f.path}: ${file.status} ${await file.text()}`);
      const hash = createHash('sha256');
      let bytes = 0;
      const tap = new Transform({ transform(chunk: Buffer, _enc, done) { hash.update(chunk); bytes += chunk.length; done(null, chunk); } });
      await mkdir(dirname(join(target, f.path)), { recursive: true });
      await pipeline(Readable.fromWeb(file.body as WebReadableStream<Uint8Array>), tap, createWriteStream(join(target, f.path)));
      if (bytes !== f.bytes || hash.digest('hex') !== f.sha256) throw new Error(`${f.path} arrived damaged (size or SHA-256 differs); try again`);
    }
    const { id: _id, ...rest } = staged;
    const manifest: BackupManifest = { format: backupFormat, version: 1, ...rest };
    await writeFile(join(target, manifestFile), `${JSON.stringify(manifest, null, 2)}\n`);
  } catch (err) {
    await rm(target, { recursive: true, force: true });
    throw err;
  } finally {
    await doFetch(`${api}/api/backups/${staged.id}`, { method: 'DELETE', headers }).catch(() => undefined);
  }
  const bytes = staged.files.reduce((n, f) => n + f.bytes, 0);
  const lines = [`backup written to ${target}: ${staged.files.length} files, ${(bytes / 1024 / 1024).toFixed(1)} MiB, schema version ${staged.schemaVersion}, in ${((Date.now() - started) / 1000).toFixed(1)} s`];
  if (keep !== undefined) {
    const removed = await rotateBackups(root, keep);
    if (removed.length > 0) lines.push(`removed ${removed.length} older backup(s), keeping the ${keep} newest: ${removed.join(', ')}`);
  }
  deps.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** `anju restore DIR`: a verified backup in place of ANJU_DATA_DIR, on a stopped node. */
export async function runRestoreCommand(argv: string[], config: AnjuConfig, deps: CommandDeps): Promise<number> {
  const { positionals } = parseArgs({ args: argv, options: {}, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new ConfigError('anju restore needs one DIR: the backup to restore');
  const dataDir = resolve(config.dataDir);
  let result;
  try {
    result = await restoreBackup(resolve(positionals[0] as string), dataDir, { knownSchemaVersion: latestSchemaVersion });
  } catch (err) {
    throw new ConfigError(`restore refused: ${(err as Error).message}`);
  }
  const lines = [`restored the backup of ${result.manifest.createdAt} (schema version ${result.manifest.schemaVersion}) into ${dataDir}`];
  if (result.previous) lines.push(`the data directory that was there is kept as ${result.previous}; delete it once the node runs well`);
  lines.push('start Anju: the spool replays the readings the backup held for the store');
  deps.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
