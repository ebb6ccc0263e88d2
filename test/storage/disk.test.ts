import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildHealth } from '../../cli/health.js';
import { createDiskMonitor, createEmbeddedDatabase, DiskFullError, StoreUnavailableError, statfsProbe, type DiskSpace } from '../../storage/index.js';
import { directoryBytes } from '../../storage/disk.js';

const logger = pino({ level: 'silent' });
const MiB = 2 ** 20;
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'anju-disk-'));
  dirs.push(d);
  return d;
}

describe('disk monitor', () => {
  it('refuses with a counted DiskFullError below the minimum and lets writes through once space returns', async () => {
    const dir = await tempDir();
    let space: DiskSpace = { freeBytes: 4_000 * MiB, totalBytes: 8_000 * MiB };
    const disk = createDiskMonitor({ dataDir: dir, minFreeBytes: 512 * MiB }, { logger, probe: async () => space });
    await disk.check();
    expect(() => disk.guard()).not.toThrow();
    expect(disk.stats()).toMatchObject({ full: false, freeBytes: 4_000 * MiB, refusedTotal: 0 });

    space = { freeBytes: 100 * MiB, totalBytes: 8_000 * MiB };
    await disk.check();
    expect(() => disk.guard()).toThrow(DiskFullError);
    let err: unknown;
    try {
      disk.guard();
    } catch (e) {
      err = e;
    }
    // An unavailable store to the spool forwarder: it keeps the readings and retries.
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err).toMatchObject({ code: 'disk_full', category: 'unavailable' });
    expect(disk.stats()).toMatchObject({ full: true, refusedTotal: 2 });

    space = { freeBytes: 600 * MiB, totalBytes: 8_000 * MiB };
    await disk.check();
    expect(() => disk.guard()).not.toThrow();
    expect(disk.stats().refusedTotal).toBe(2);
  });

  it('measures the data directory and projects its growth per day from samples at least 10 minutes apart', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'spool'));
    await writeFile(join(dir, 'a.bin'), Buffer.alloc(1_000));
    await writeFile(join(dir, 'spool', 'b.bin'), Buffer.alloc(500));
    expect(await directoryBytes(dir)).toBe(1_500);
    let t = 1_000_000;
    const disk = createDiskMonitor({ dataDir: dir, minFreeBytes: 0 }, { logger, probe: async () => ({ freeBytes: 1e12, totalBytes: 2e12 }), now: () => t });
    await disk.check();
    expect(disk.stats().storeBytes).toBe(1_500);
    expect(disk.stats().growthBytesPerDay).toBeUndefined();
    await writeFile(join(dir, 'a.bin'), Buffer.alloc(1_000 + 600));
    // Free space is read every probe, the directory walked only every five minutes.
    t += 10_000;
    await disk.check();
    expect(disk.stats()).toMatchObject({ storeBytes: 1_500, checkedAt: t });
    t += 60 * 60_000 - 10_000;
    await disk.check();
    expect(disk.stats().storeBytes).toBe(2_100);
    // 600 bytes in an hour: 14,400 a day.
    expect(disk.stats().growthBytesPerDay).toBe(14_400);

    const health = buildHealth({
      spool: { stats: () => ({ depth: 0, bytes: 0, quotaBytes: MiB, full: false, refusedTotal: 0 }) as never },
      forwarder: { stats: () => ({ forwarded: 0, failures: 0, dropped: 0, retrying: false }) as never },
      pipeline: { stats: () => ({ received: 0, accepted: 0, duplicates: 0, rejected: 0, refused: 0 }) },
      latest: { size: () => 0 },
      disk,
    });
    const report = await health();
    expect(report.checks.disk?.status).toBe('ok');
    expect(report.checks.disk?.detail).toContain('growing 0 MiB/day');
  });

  it('statfs reports the real file system', async () => {
    const s = await statfsProbe(await tempDir());
    expect(s.totalBytes).toBeGreaterThan(0);
    expect(s.freeBytes).toBeGreaterThan(0);
    expect(s.freeBytes).toBeLessThanOrEqual(s.totalBytes);
  });

  it('the embedded store writes nothing while its guard refuses, and everything once it admits again', async () => {
    const dir = await tempDir();
    const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '128MB', threads: 1 }, { logger });
    try {
      let space: DiskSpace = { freeBytes: 1 * MiB, totalBytes: 100 * MiB };
      const disk = createDiskMonitor({ dataDir: dir, minFreeBytes: 10 * MiB }, { logger, probe: async () => space });
      await disk.check();
      db.setWriteGuard(() => disk.guard());
      const reading = { device: 'sd-1', kind: 'smoke_detector' as const, site: 's1', building: 'b1', ts: 1_700_000_000_000, fields: { smoke: 0.02 } };
      await expect(db.telemetry.write([reading])).rejects.toBeInstanceOf(DiskFullError);
      expect(await db.telemetry.latest('sd-1')).toBeUndefined();
      space = { freeBytes: 50 * MiB, totalBytes: 100 * MiB };
      await disk.check();
      await db.telemetry.write([reading]);
      expect((await db.telemetry.latest('sd-1'))?.fields.smoke).toBe(0.02);
      expect(disk.stats().refusedTotal).toBe(1);
    } finally {
      await db.close();
    }
  });
});
