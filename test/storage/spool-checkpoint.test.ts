import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSpool, createSpoolForwarder, type TelemetryStore } from '../../storage/index.js';
import { createCheckpointWriter } from '../../storage/spool/checkpoint.js';
import { cleanup, freshDir, many, openDb, storedCount } from './spool.helpers.js';

/**
 * The checkpoint written at most once per interval: saves in between coalesce into one write of
 * the latest position; a flush and a close do not wait the interval out; a crash inside it replays
 * the readings acknowledged since the last write, and the store still holds each once.
 */

const silent = pino({ level: 'silent' });
afterEach(cleanup);

const stored = async (dir: string) => JSON.parse(await readFile(join(dir, 'checkpoint.json'), 'utf8')) as { segment: number; offset: number };

describe('spool checkpoint interval', () => {
  it('saves within the interval coalesce into one write of the latest position, no sooner than the interval', async () => {
    const dir = await freshDir();
    const writer = createCheckpointWriter(dir, true, 400);
    // The interval runs from when a write starts, on the monotonic clock (checkpoint.ts): measured the same
    // way, from before the first write, not after it (a slow fsync on CI made that 12 ms short).
    const firstAt = performance.now();
    await writer.save({ segment: 1, offset: 10 }); // the first write does not wait
    expect(await stored(dir)).toMatchObject({ segment: 1, offset: 10 });
    const settled: number[] = [];
    const saves = [20, 30, 40].map((offset) => writer.save({ segment: 1, offset }).then(() => settled.push(offset)));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(settled).toEqual([]);
    expect(await stored(dir)).toMatchObject({ offset: 10 });
    await Promise.all(saves);
    expect(performance.now() - firstAt).toBeGreaterThanOrEqual(390);
    expect(settled).toEqual([20, 30, 40]);
    expect(await stored(dir)).toMatchObject({ segment: 1, offset: 40 });
  });

  it('hurry writes a save waiting out the interval at once; with nothing waiting it changes nothing', async () => {
    const dir = await freshDir();
    const writer = createCheckpointWriter(dir, true, 60_000);
    writer.hurry();
    await writer.save({ segment: 2, offset: 0 });
    const started = Date.now();
    const waiting = writer.save({ segment: 2, offset: 99 });
    writer.hurry();
    await waiting;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await stored(dir)).toMatchObject({ segment: 2, offset: 99 });
  });

  it('the interval is measured on a monotonic clock: a wall clock stepped back an hour does not hold the next write', async () => {
    const dir = await freshDir();
    const writer = createCheckpointWriter(dir, true, 100);
    await writer.save({ segment: 3, offset: 1 });
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => Date.UTC(2026, 0, 1)); // an NTP step back
    try {
      const started = performance.now();
      await writer.save({ segment: 3, offset: 2 });
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(await stored(dir)).toMatchObject({ segment: 3, offset: 2 });
    } finally {
      spy.mockRestore();
    }
  });

  it('a forwarder flush and close do not wait out a long interval', async () => {
    const dir = await freshDir();
    const db = await openDb(dir);
    const spool = await createSpool({ dir: join(dir, 'spool'), segmentBytes: 1 << 20, quotaBytes: 64 << 20, groupCommitMs: 1, fsync: true, checkpointIntervalMs: 60_000 },
      { logger: silent, metrics: new Registry() });
    const forwarder = createSpoolForwarder({ maxBatch: 5 }, { spool, store: db.telemetry, logger: silent, metrics: new Registry() });
    forwarder.start();
    const started = Date.now();
    for (let i = 0; i < 4; i += 1) {
      await spool.append(many(5, 'f', i * 5));
      await forwarder.flush();
      expect(await stored(join(dir, 'spool'))).toEqual({ v: 1, ...spool.endPosition() });
    }
    await forwarder.close();
    await spool.close();
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await storedCount(db.telemetry)).toBe(20);
  });

  it('a crash inside the interval replays what was acknowledged since the last checkpoint write; each reading is stored once', async () => {
    const dir = await freshDir();
    const spoolDir = join(dir, 'spool');
    await mkdir(spoolDir, { recursive: true });
    const db = await openDb(dir);
    const config = { dir: spoolDir, segmentBytes: 1 << 20, quotaBytes: 64 << 20, groupCommitMs: 1, fsync: true, checkpointIntervalMs: 60_000 };
    const spool = await createSpool(config, { logger: silent, metrics: new Registry() });
    const written: number[] = [];
    const counting: TelemetryStore = { ...db.telemetry, write: async (batch) => { await db.telemetry.write(batch); written.push(batch.length); } };
    const forwarder = createSpoolForwarder({ maxBatch: 10 }, { spool, store: counting, logger: silent, metrics: new Registry() });
    forwarder.start();
    await spool.append(many(10, 'c', 0));
    await forwarder.flush(); // checkpoint written: these 10 never replay
    const checkpointed = spool.endPosition();
    for (let i = 1; i < 4; i += 1) await spool.append(many(10, 'c', i * 10));
    // Forwarded and acknowledged, but the checkpoint waits out the interval.
    while (written.reduce((a, b) => a + b, 0) < 40) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await stored(spoolDir)).toEqual({ v: 1, ...checkpointed });
    // The crash: neither closed; a new process opens the spool.
    const reopened = await createSpool({ ...config, dir: spoolDir }, { logger: silent, metrics: new Registry() });
    expect(reopened.stats().depth).toBe(30);
    const replay = createSpoolForwarder({ maxBatch: 100 }, { spool: reopened, store: db.telemetry, logger: silent, metrics: new Registry() });
    replay.start();
    await replay.flush();
    await replay.close();
    await reopened.close();
    expect(await storedCount(db.telemetry)).toBe(40);
    await forwarder.close();
    await spool.close();
  });
});
