import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ConfigError, type BackupScheduleConfig } from '../core/config.js';
import { backupFolderName, rotateBackups, takeBackup, type BackupSource } from '../storage/index.js';

/**
 * Scheduled backups by the node itself (ANJU_BACKUP_SCHEDULE), as `anju backup DIR --keep N` from
 * cron would make them: a folder per backup under ANJU_BACKUP_DIR, the N newest kept. A failed
 * backup is logged, counted and leaves no folder; the last success is a metric to alert on.
 */
export function startBackupSchedule(config: BackupScheduleConfig,
  deps: { source: BackupSource; logger: Logger; metrics: Registry }): { runOnce(): Promise<void>; stop(): Promise<void> } {
  if (!cron.validate(config.cron)) throw new ConfigError(`ANJU_BACKUP_SCHEDULE: "${config.cron}" is not a cron expression (e.g. "30 2 * * *": 02:30 every day)`);
  const log = deps.logger.child({ part: 'backup' });
  const last = new Gauge({ name: 'anju_backup_last_success_timestamp_seconds', help: 'When the last scheduled backup finished (Unix time); 0 = none yet in this process.', registers: [deps.metrics] });
  const failures = new Counter({ name: 'anju_backup_failures_total', help: 'Scheduled backups that failed (see the log).', registers: [deps.metrics] });
  const duration = new Gauge({ name: 'anju_backup_duration_seconds', help: 'How long the last scheduled backup took.', registers: [deps.metrics] });

  let running: Promise<void> | undefined;
  const runOnce = async () => {
    const started = Date.now();
    const target = join(config.dir, backupFolderName(new Date(started)));
    try {
      const manifest = await takeBackup(deps.source, target);
      const removed = await rotateBackups(config.dir, config.keep);
      last.set(Date.now() / 1000);
      duration.set((Date.now() - started) / 1000);
      log.info({ target, bytes: manifest.files.reduce((n, f) => n + f.bytes, 0), ms: Date.now() - started, removed }, 'scheduled backup taken');
    } catch (err) {
      failures.inc();
      log.error({ err, target }, 'scheduled backup failed; the previous backups are kept');
      await rm(target, { recursive: true, force: true }).catch(() => undefined);
    }
  };
  const task: ScheduledTask = cron.schedule(config.cron, async () => {
    running = runOnce();
    await running;
  }, { name: 'anju-backup', noOverlap: true, ...(config.timezone ? { timezone: config.timezone } : {}) });
  log.info({ cron: config.cron, dir: config.dir, keep: config.keep }, 'scheduled backups on');
  return {
    runOnce,
    async stop() {
      await task.destroy();
      await running?.catch(() => undefined);
    },
  };
}
