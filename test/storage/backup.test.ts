import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createSpool, createSpoolForwarder, restoreBackup, rotateBackups, takeBackup, verifyBackup, type EmbeddedDatabase } from '../../storage/index.js';
import { latestSchemaVersion } from '../../storage/embedded/schema.js';
import { cleanup, freshDir, many, openDb, storedCount } from './spool.helpers.js';
import { holdPoint } from '../helpers/hold-point.js';
import { run } from '../helpers/servers.js';

const silent = pino({ level: 'silent' });
afterEach(cleanup);

const openSpool = (dir: string) => createSpool({ dir, segmentBytes: 64 * 1024, quotaBytes: 64 << 20, groupCommitMs: 1, fsync: true },
  { logger: silent, metrics: new Registry() });
const source = (dataDir: string, db: EmbeddedDatabase) => ({ dataDir, snapshot: (file: string) => db.snapshot(file) });
const knownSchemaVersion = latestSchemaVersion;

/** A data dir holding ten readings of device `x`, its database still open, and a backup of it in `target`. */
async function backedUp(): Promise<{ dataDir: string; db: EmbeddedDatabase; target: string }> {
  const dataDir = await freshDir();
  const db = await openDb(dataDir);
  await db.telemetry.write(many(10, 'x'));
  const target = join(await freshDir(), 'backup');
  await takeBackup(source(dataDir, db), target);
  return { dataDir, db, target };
}

describe('backup and restore of the embedded store and its spool', () => {
  it('keeps readings still in the spool (acknowledged, not yet stored) and those in the database, while writes go on', async () => {
    const dataDir = await freshDir();
    const db = await openDb(dataDir);
    await db.telemetry.write(many(500, 'in-db'));
    // Acknowledged to their devices (appended, fsync'd) but the store has not taken them: no forwarder runs.
    const spool = await openSpool(join(dataDir, 'spool'));
    for (let i = 0; i < 20; i++) await spool.append(many(50, 'in-spool', i * 50));

    // Writes carry on during the backup, on the store and the spool alike.
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await db.telemetry.write(many(20, 'during', i * 20));
        await spool.append(many(5, 'during-spool', i * 5));
      }
    })();
    const target = join(await freshDir(), 'backup');
    const manifest = await takeBackup(source(dataDir, db), target);
    writing = false;
    await writer;
    expect(manifest.schemaVersion).toBe(knownSchemaVersion);
    expect(manifest.files.some((f) => f.path.startsWith('spool/') && f.path.endsWith('.seg'))).toBe(true);
    await spool.close();

    const restoredDir = join(await freshDir(), 'data');
    const result = await restoreBackup(target, restoredDir, { knownSchemaVersion });
    expect(result.previous).toBeUndefined();
    const db2 = await openDb(restoredDir);
    // The restored spool hands what it held to the restored store, as at any start.
    const spool2 = await openSpool(join(restoredDir, 'spool'));
    const forwarder = createSpoolForwarder({ maxBatch: 1000, retryBaseMs: 5, closeTimeoutMs: 100 },
      { spool: spool2, store: db2.telemetry, logger: silent, metrics: new Registry() });
    forwarder.start();
    await forwarder.flush();
    await forwarder.close();
    await spool2.close();
    const devices = async (device: string) => (await db2.telemetry.series({ kind: 'smoke_detector', device, from: 0, to: Date.UTC(2030, 0, 1) })).length;
    expect(await devices('in-db')).toBe(500);
    expect(await devices('in-spool')).toBe(1000);
    expect(await storedCount(db2.telemetry)).toBeGreaterThanOrEqual(1500);
  });

  it('two backups at once (the schedule\'s and one asked for) both complete', async () => {
    // Found in review: the second ATTACH of the snapshot's alias failed while the first backup ran.
    const dataDir = await freshDir();
    const db = await openDb(dataDir);
    await db.telemetry.write(many(300, 'd'));
    const into = await freshDir();
    const [a, b] = await Promise.all([takeBackup(source(dataDir, db), join(into, 'one')), takeBackup(source(dataDir, db), join(into, 'two'))]);
    expect([a.schemaVersion, b.schemaVersion]).toEqual([knownSchemaVersion, knownSchemaVersion]);
    for (const dir of ['one', 'two']) expect(await verifyBackup(join(into, dir))).toMatchObject({ schemaVersion: knownSchemaVersion });
  });

  it('restores over an existing data dir by moving it aside, and refuses a newer schema or a damaged file', async () => {
    const { dataDir, db, target } = await backedUp();
    await expect(takeBackup(source(dataDir, db), target)).rejects.toThrow(/not empty/);
    await db.close();

    const existing = join(await freshDir(), 'data');
    await mkdir(existing);
    await writeFile(join(existing, 'keep-me'), 'old');
    const result = await restoreBackup(target, existing, { knownSchemaVersion });
    expect(result.previous).toMatch(/data\.before-restore-/);
    expect(await readFile(join(result.previous!, 'keep-me'), 'utf8')).toBe('old');
    expect((await readdir(existing)).sort()).toEqual(['anju.duckdb', 'spool']);

    await expect(restoreBackup(target, join(await freshDir(), 'd'), { knownSchemaVersion: knownSchemaVersion - 1 })).rejects.toThrow(/newer than this Anju knows/);
    const manifest = JSON.parse(await readFile(join(target, 'manifest.json'), 'utf8')) as { files: Array<{ path: string }> };
    manifest.files[0]!.path = '../../etc/passwd';
    await writeFile(join(target, 'manifest.json'), JSON.stringify(manifest));
    await expect(verifyBackup(target)).rejects.toThrow(/not a file an Anju backup holds/);
  });

  it('holds the database it replaces through the copy: an Anju started meanwhile (another process) cannot open it', async () => {
    // Found in review: the lock was checked once, then let go for the whole copy; a node a service
    // manager restarted in that window wrote into the directory about to be moved aside.
    const { dataDir, db, target } = await backedUp();
    await db.close();

    const hold = holdPoint();
    const restoring = restoreBackup(target, dataDir, {
      knownSchemaVersion,
      copy: async (from, to) => {
        hold.reach();
        await hold.released;
        await copyFile(from, to);
      },
    });
    await hold.reached;
    // What a starting node does first: open its database for writing.
    const opener = `import { DuckDBInstance } from '@duckdb/node-api';
      try { (await DuckDBInstance.create(process.argv[1])).closeSync(); console.log('opened'); } catch (e) { console.log(e.message); }`;
    const attempt = await run(process.execPath, ['--input-type=module', '-e', opener, join(dataDir, 'anju.duckdb')], 30_000);
    hold.release();
    const result = await restoring;
    expect(attempt.stdout).not.toMatch(/opened/);
    expect(attempt.stdout).toMatch(/lock/i);
    expect(result.previous).toMatch(/before-restore-/);
    const restored = await openDb(dataDir);
    expect(await storedCount(restored.telemetry)).toBe(10);
  });

  it('rotates: keeps the N newest complete backups and touches nothing else', async () => {
    const root = await freshDir();
    const names = ['anju-2026-11-01T02-00-00-000Z', 'anju-2026-11-02T02-00-00-000Z', 'anju-2026-11-03T02-00-00-000Z', 'anju-2026-11-04T02-00-00-000Z'];
    for (const n of names) {
      await mkdir(join(root, n));
      await writeFile(join(root, n, 'manifest.json'), '{}');
    }
    // Not finished (no manifest), and not ours: kept, and not counted.
    await mkdir(join(root, 'anju-2026-11-05T02-00-00-000Z'));
    await mkdir(join(root, 'photos'));
    expect(await rotateBackups(root, 2)).toEqual(names.slice(0, 2));
    expect((await readdir(root)).sort()).toEqual([...names.slice(2), 'anju-2026-11-05T02-00-00-000Z', 'photos'].sort());
  });
});
