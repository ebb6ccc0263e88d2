import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startBackupSchedule } from '../../cli/backup-schedule.js';
import { ConfigError } from '../../core/config.js';
import { verifyBackup } from '../../storage/index.js';
import { cleanup, freshDir, many, openDb } from '../storage/spool.helpers.js';

afterEach(cleanup);

describe('scheduled backups (ANJU_BACKUP_SCHEDULE)', () => {
  it('takes a verified backup on each tick and keeps the newest N', async () => {
    const dataDir = await freshDir();
    const db = await openDb(dataDir);
    await db.telemetry.write(many(100, 'sched'));
    const dir = join(await freshDir(), 'backups');
    const metrics = new Registry();
    // Every second (node-cron's six-field form), keeping two.
    const schedule = startBackupSchedule({ cron: '* * * * * *', dir, keep: 2 }, { source: { dataDir, snapshot: (f) => db.snapshot(f) }, logger: pino({ level: 'silent' }), metrics });
    try {
      const taken = async () => (await metrics.getSingleMetric('anju_backup_last_success_timestamp_seconds')?.get())?.values[0]?.value ?? 0;
      const first = await vi.waitFor(async () => { const t = await taken(); expect(t).toBeGreaterThan(0); return t; }, { timeout: 20_000, interval: 100 });
      await vi.waitFor(async () => expect(await taken()).toBeGreaterThan(first), { timeout: 20_000, interval: 100 });
      await vi.waitFor(async () => expect(await taken()).toBeGreaterThan(first + 1), { timeout: 20_000, interval: 100 });
    } finally {
      await schedule.stop();
    }
    const folders = (await readdir(dir)).sort();
    expect(folders).toHaveLength(2);
    for (const f of folders) expect((await verifyBackup(join(dir, f))).files.map((x) => x.path)).toContain('anju.duckdb');
    expect((await metrics.getSingleMetric('anju_backup_failures_total')?.get())?.values[0]?.value ?? 0).toBe(0);
  }, 60_000);

  it('refuses an expression that is not cron at start-up', () => {
    expect(() => startBackupSchedule({ cron: 'every night', dir: '/tmp/x', keep: 1 }, { source: { dataDir: '/tmp', snapshot: async () => ({ schemaVersion: 0 }) }, logger: pino({ level: 'silent' }), metrics: new Registry() }))
      .toThrow(ConfigError);
  });
});
