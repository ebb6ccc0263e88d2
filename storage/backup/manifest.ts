import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { z } from 'zod';

/**
 * `manifest.json`, written last into a backup directory: its presence says the backup is whole,
 * and each file's size and SHA-256 let a restore refuse a copy that was cut short or altered.
 * Paths are relative, `/`-separated, and only name the files a backup holds.
 */
export const backupFormat = 'anju-backup';
export const manifestFile = 'manifest.json';

/** The only file names a backup may hold: the database and spool segments and checkpoint. */
const backupPath = z.string().regex(/^(anju\.duckdb|spool\/\d{20}\.seg|spool\/checkpoint\.json)$/, 'not a file an Anju backup holds');

export const manifestSchema = z.object({
  format: z.literal(backupFormat),
  version: z.literal(1),
  createdAt: z.string(),
  /** The embedded database's schema version in the backup (a restore refuses a newer one). */
  schemaVersion: z.number().int().min(0),
  /** Where the store had got to in the spool when the copy began (null: fresh spool). */
  spoolCheckpoint: z.object({ segment: z.number().int(), offset: z.number().int() }).nullable(),
  files: z.array(z.object({ path: backupPath, bytes: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
}).strict();
export type BackupManifest = z.infer<typeof manifestSchema>;

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
