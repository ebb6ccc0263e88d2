import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { ActiveAlarmConflictError, restoreBackup, takeBackup, type EmbeddedDatabase } from '../../storage/index.js';
import { alarmFileName, alarmFileTables, copyTables } from '../../storage/embedded/alarm-file.js';
import { latestSchemaVersion } from '../../storage/embedded/schema.js';
import { alarm, T0 } from './embedded-alarms.helpers.js';
import { incident } from './incident-store.contract.js';
import { cleanup, freshDir, openDb } from './spool.helpers.js';

afterEach(cleanup);

/** Raw SQL on a closed data dir's files, the alarm file attached as `anju_alarms`. */
async function onFiles<T>(dataDir: string, job: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(join(dataDir, 'anju.duckdb'));
  const c = await instance.connect();
  try {
    await c.run(`ATTACH '${join(dataDir, alarmFileName)}' AS anju_alarms`);
    return await job(c);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

const tablesOf = async (c: DuckDBConnection, database: string) => (await c.runAndReadAll(
  `SELECT table_name FROM duckdb_tables() WHERE database_name = '${database}' ORDER BY table_name`,
)).getRowObjects().map((r) => String(r.table_name)).filter((t) => (alarmFileTables as readonly string[]).includes(t));
const count = async (c: DuckDBConnection, sql: string) => Number((await c.runAndReadAll(sql)).getRowObjects()[0]?.n);

/** Alarms, an incident and rule state, written through the stores, then the database closed. */
async function seeded(dataDir: string): Promise<void> {
  const db = await openDb(dataDir);
  await db.alarms.record(alarm('a1', 'sd-1'), { type: 'raised', ts: T0 });
  await db.alarms.record(alarm('a2', 'sd-2', { status: 'cleared_ack', clearTs: T0 + 5 }), { type: 'raised', ts: T0 + 1 });
  await db.incidents.recordMany([{ incident: incident('i1'), event: { type: 'raised', ts: T0 } }], 2);
  await db.alarms.saveRuleState(new Map([['smoke/sd-1', { n: 3 }]]));
  await db.close();
}

/** What the stores hold of `seeded`, read back. */
async function readBack(db: EmbeddedDatabase) {
  return {
    alarms: (await db.alarms.list({ limit: 1_000, offset: 0 })).items.map((a) => [a.id, a.status, a.rev]),
    events: (await db.alarms.eventsSince(0)).map((e) => [e.seq, e.type, e.alarm.id]),
    incident: (await db.incidents.get('i1'))?.members.map((m) => m.id),
    watermark: await db.incidents.alarmWatermark(),
    ruleState: [...(await db.alarms.loadRuleState()).entries()],
  };
}

const expected = {
  alarms: [['a1', 'active_unack', 1], ['a2', 'cleared_ack', 2]],
  events: [[1, 'raised', 'a1'], [2, 'raised', 'a2']],
  incident: ['a-i1'],
  watermark: 2,
  ruleState: [['smoke/sd-1', { n: 3 }]],
};

/** Back to one file, as a release before the alarm file left it: the alarm tables in the main database, no alarm file. */
async function asOneFile(dataDir: string): Promise<void> {
  await onFiles(dataDir, async (c) => {
    await copyTables(c, 'anju_alarms', 'anju', alarmFileTables);
    await c.run('CHECKPOINT');
  });
}

describe('the alarm file: alarms, incidents and rule state beside the telemetry, not in it', () => {
  it('keeps the alarm tables in alarms.duckdb, not in anju.duckdb, and reads them back after a restart', async () => {
    const dataDir = await freshDir();
    await seeded(dataDir);
    expect((await readdir(dataDir)).filter((f) => f.endsWith('.duckdb')).sort()).toEqual([alarmFileName, 'anju.duckdb']);
    await onFiles(dataDir, async (c) => {
      expect(await tablesOf(c, 'anju')).toEqual([]);
      expect(await tablesOf(c, 'anju_alarms')).toEqual([...alarmFileTables].sort());
    });
    expect(await readBack(await openDb(dataDir))).toEqual(expected);
  });

  it('moves the tables of a file an earlier release wrote on its first open: rows, keys and constraints as they were', async () => {
    const dataDir = await freshDir();
    await seeded(dataDir);
    await asOneFile(dataDir);
    await rm(join(dataDir, alarmFileName));
    await rm(join(dataDir, `${alarmFileName}.wal`), { force: true });
    await onFiles(dataDir, async (c) => expect(await tablesOf(c, 'anju')).toEqual([...alarmFileTables].sort()));

    const db = await openDb(dataDir);
    expect(await readBack(db)).toEqual(expected);
    // The primary key and the one-active-per-key rule came along: a second active alarm for sd-1 is refused.
    await expect(db.alarms.record(alarm('a3', 'sd-1'), { type: 'raised', ts: T0 + 9 })).rejects.toBeInstanceOf(ActiveAlarmConflictError);
    await db.alarms.record(alarm('a4', 'sd-4'), { type: 'raised', ts: T0 + 9 });
    expect((await db.alarms.eventsSince(2)).map((e) => e.seq)).toEqual([3]);
    await db.close();
    await onFiles(dataDir, async (c) => {
      expect(await tablesOf(c, 'anju')).toEqual([]);
      await expect(c.run(`INSERT INTO anju_alarms.alarm_events SELECT * FROM anju_alarms.alarm_events WHERE seq = 1`)).rejects.toThrow(/primary key/);
    });
  });

  it('after a crash between the copy and the drop (the tables in both files), keeps the main database\'s copy', async () => {
    const dataDir = await freshDir();
    await seeded(dataDir);
    // The alarm file as it was before a change the main database's copy holds: a move's copy
    // committed, its drop not, from a split (main → file) or a join (file → main) alike.
    await onFiles(dataDir, async (c) => {
      await copyTables(c, 'anju_alarms', 'anju', alarmFileTables);
      await c.run(`DELETE FROM anju_alarms.alarm_events WHERE seq = 2`);
      await c.run(`DELETE FROM anju_alarms.alarms WHERE id = 'a2'`);
      await c.run(`DELETE FROM anju_alarms.rule_state`);
    });
    const db = await openDb(dataDir);
    expect(await readBack(db)).toEqual(expected);
    await db.close();
    await onFiles(dataDir, async (c) => expect(await tablesOf(c, 'anju')).toEqual([]));
  });

  it('moves the tables back into the main database while migrations run, so a migration that alters one finds it there', async () => {
    const dataDir = await freshDir();
    await seeded(dataDir);
    // A file one migration behind, where that migration alters alarm tables (14: the revisions).
    await onFiles(dataDir, async (c) => {
      await c.run('ALTER TABLE anju_alarms.alarms DROP COLUMN rev');
      await c.run('ALTER TABLE anju_alarms.incidents DROP COLUMN rev');
      await c.run('DELETE FROM schema_version WHERE version = 14');
    });
    const db = await openDb(dataDir);
    // Migration 14 set each revision from the event log, in the main database; then the tables went back.
    expect(await readBack(db)).toEqual(expected);
    await db.close();
    await onFiles(dataDir, async (c) => {
      expect(await tablesOf(c, 'anju')).toEqual([]);
      expect(await count(c, 'SELECT max(version) AS n FROM schema_version')).toBe(latestSchemaVersion);
    });
  });

  it('refuses a pair of files that do not belong together, saying what to do, rather than start without its alarms', async () => {
    // Found in review: ATTACH makes an empty alarm file where there is none.
    const lost = await freshDir();
    await seeded(lost);
    await rm(join(lost, alarmFileName));
    await expect(openDb(lost)).rejects.toThrow(/alarms\.duckdb lacks the tables alarms, alarm_events.*Restore both files from a backup/);
    const orphan = await freshDir();
    await seeded(orphan);
    await rm(join(orphan, 'anju.duckdb'));
    await rm(join(orphan, 'anju.duckdb.wal'), { force: true });
    await expect(openDb(orphan)).rejects.toThrow(/alarms\.duckdb holds alarm tables, but .*anju\.duckdb is a new database.*move alarms\.duckdb away/);
    await rm(join(orphan, alarmFileName));
    expect(await readBack(await openDb(orphan))).toMatchObject({ alarms: [], events: [], ruleState: [] });
  });

  it('backs up the alarm tables into the one backup file and restores them, while alarms are raised', async () => {
    const dataDir = await freshDir();
    await seeded(dataDir);
    const db = await openDb(dataDir);
    let raising = true;
    let raised = 0;
    const raiser = (async () => {
      for (let i = 0; raising && i < 500; i += 1) {
        await db.alarms.record(alarm(`r${i}`, `sd-r${i}`), { type: 'raised', ts: T0 + 100 + i });
        raised += 1;
      }
    })();
    const target = join(await freshDir(), 'backup');
    const manifest = await takeBackup({ dataDir, snapshot: (file) => db.snapshot(file) }, target);
    raising = false;
    await raiser;
    expect(manifest.files.map((f) => f.path).filter((p) => p.endsWith('.duckdb'))).toEqual(['anju.duckdb']);

    const restoredDir = join(await freshDir(), 'data');
    await restoreBackup(target, restoredDir, { knownSchemaVersion: latestSchemaVersion });
    const restored = await openDb(restoredDir);
    const back = await readBack(restored);
    // The seeded ones, and a prefix of those raised during the backup: each alarm with its event.
    expect(back.incident).toEqual(expected.incident);
    expect(back.ruleState).toEqual(expected.ruleState);
    expect(back.events.slice(0, 2)).toEqual(expected.events);
    const during = back.events.slice(2).map((e) => e[2]);
    expect(during).toEqual(Array.from({ length: during.length }, (_, i) => `r${i}`));
    expect(during.length).toBeLessThanOrEqual(raised);
    expect(back.alarms.length).toBe(back.events.length);
    await restored.close();
    await onFiles(restoredDir, async (c) => expect(await tablesOf(c, 'anju')).toEqual([]));
  });
});
