import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { manifestFile, manifestSchema, type BackupManifest } from './manifest.js';
import { takeBackup, type BackupSource } from './take.js';
import { createSerialQueue } from '../../core/util/index.js';

/**
 * Backups taken by the running node for a client to fetch (`anju backup DIR` through the API): made
 * under the node's own data dir, never at a path a request names, handed out file by file, and
 * deleted by the client when it has them (or after `maxAgeMs`, should it never come back). One
 * at a time: a second request waits for the first.
 */
export interface BackupStaging {
  create(): Promise<{ id: string; manifest: BackupManifest }>;
  /** The file `path` of staged backup `id`, if the manifest lists it. */
  file(id: string, path: string): Promise<{ fullPath: string; bytes: number; sha256: string } | undefined>;
  remove(id: string): Promise<boolean>;
}

const idPattern = /^[0-9]{13}-[0-9a-f]{8}$/;

export function createBackupStaging(config: { dir: string; maxAgeMs?: number }, deps: { source: BackupSource; clock?: () => number }): BackupStaging {
  const clock = deps.clock ?? Date.now;
  const maxAgeMs = config.maxAgeMs ?? 3_600_000;
  const backups = createSerialQueue();

  const sweep = async () => {
    const names = await readdir(config.dir).catch(() => [] as string[]);
    for (const n of names) {
      if (idPattern.test(n) && clock() - Number(n.slice(0, 13)) > maxAgeMs) await rm(join(config.dir, n), { recursive: true, force: true });
    }
  };
  const manifestOf = async (id: string): Promise<BackupManifest | undefined> => {
    if (!idPattern.test(id)) return undefined;
    const text = await readFile(join(config.dir, id, manifestFile), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : manifestSchema.parse(JSON.parse(text));
  };

  return {
    create() {
      const run = async () => {
        await mkdir(config.dir, { recursive: true });
        await sweep();
        const id = `${clock()}-${randomBytes(4).toString('hex')}`;
        try {
          return { id, manifest: await takeBackup(deps.source, join(config.dir, id)) };
        } catch (err) {
          await rm(join(config.dir, id), { recursive: true, force: true });
          throw err;
        }
      };
      return backups.run(run);
    },
    async file(id, path) {
      const entry = (await manifestOf(id))?.files.find((f) => f.path === path);
      if (!entry) return undefined;
      const fullPath = join(config.dir, id, entry.path);
      return (await stat(fullPath).then(() => true, () => false)) ? { fullPath, bytes: entry.bytes, sha256: entry.sha256 } : undefined;
    },
    async remove(id) {
      if (!(await manifestOf(id))) return false;
      await rm(join(config.dir, id), { recursive: true, force: true });
      return true;
    },
  };
}
