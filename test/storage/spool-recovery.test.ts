import { open, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createSpool, createSpoolForwarder, type SpoolLog, type TelemetryStore } from '../../storage/index.js';
import { HEADER_BYTES } from '../../storage/spool/codec.js';
import { captureLogger, cleanup, flakyStore, freshDir, many, metricValue, openDb, storedCount } from './spool.helpers.js';

const silent = pino({ level: 'silent' });
afterEach(cleanup);

const openSpool = (dir: string, logger: Logger = silent, metrics = new Registry()) =>
  createSpool({ dir, segmentBytes: 1 << 20, quotaBytes: 64 << 20, groupCommitMs: 1, fsync: true }, { logger, metrics });

async function forwardAll(spool: SpoolLog, store: TelemetryStore): Promise<void> {
  const f = createSpoolForwarder({ maxBatch: 1000, retryBaseMs: 5, closeTimeoutMs: 100 }, { spool, store, logger: silent, metrics: new Registry() });
  f.start();
  await f.flush();
  await f.close();
}

/** Segment files with data, oldest first, and each one's record offsets. */
async function segmentsWithRecords(dir: string): Promise<{ path: string; offsets: number[]; size: number }[]> {
  const out = [];
  for (const f of (await readdir(dir)).filter((x) => x.endsWith('.seg')).sort()) {
    const buf = await readFile(join(dir, f));
    const offsets: number[] = [];
    for (let off = 0; off + HEADER_BYTES <= buf.length; off += HEADER_BYTES + buf.readUInt32LE(off + 4)) offsets.push(off);
    if (offsets.length > 0) out.push({ path: join(dir, f), offsets, size: buf.length });
  }
  return out;
}

async function flipByte(path: string, at: number, mask = 0x10): Promise<void> {
  const fh = await open(path, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, at);
  b[0]! ^= mask;
  await fh.write(b, 0, 1, at);
  await fh.close();
}

/** Ten appends of five readings (device `r`, ts 0..49), spool closed: one segment, ten records. */
async function tenRecords(): Promise<{ dir: string; spoolDir: string; store: TelemetryStore }> {
  const dir = await freshDir();
  const spoolDir = join(dir, 'spool');
  const spool = await openSpool(spoolDir);
  for (let i = 0; i < 10; i += 1) await spool.append(many(5, 'r', i * 5));
  await spool.close();
  return { dir, spoolDir, store: (await openDb(dir)).telemetry };
}

describe('spool: restart and recovery', () => {
  it('replays only unacknowledged readings after a restart', async () => {
    const dir = await freshDir();
    const spoolDir = join(dir, 'spool');
    const db = await openDb(dir);
    const flaky = flakyStore(db.telemetry);
    let spool = await openSpool(spoolDir);
    let fwd = createSpoolForwarder({ maxBatch: 100, retryBaseMs: 5, closeTimeoutMs: 50 },
      { spool, store: flaky.store, logger: silent, metrics: new Registry() });
    fwd.start();
    await spool.append(many(100, 'a'));
    await fwd.flush();
    flaky.state.down = true;
    await spool.append(many(50, 'b'));
    await fwd.close(); // gives up on the batch in hand after 50 ms
    await spool.close();

    flaky.state.down = false;
    flaky.state.written = [];
    spool = await openSpool(spoolDir);
    expect(spool.stats().depth).toBe(50);
    fwd = createSpoolForwarder({ maxBatch: 100 }, { spool, store: flaky.store, logger: silent, metrics: new Registry() });
    fwd.start();
    await fwd.flush();
    expect(flaky.state.written.map((r) => r.device)).toEqual(Array(50).fill('b'));
    expect(await storedCount(db.telemetry)).toBe(150);
    await fwd.close();
    await spool.close();
  });

  it('replays after a crash (objects dropped without close)', async () => {
    const dir = await freshDir();
    const spoolDir = join(dir, 'spool');
    const crashed = await openSpool(spoolDir);
    await Promise.all([crashed.append(many(20, 'c')), crashed.append(many(10, 'c', 20))]);
    // No close: the process "died" here. A new spool opens the same dir.
    const spool = await openSpool(spoolDir);
    expect(spool.stats()).toMatchObject({ depth: 30, corruptTotal: 0 });
    expect(spool.stats().oldestUnsentAt).toBeTypeOf('number');
    const { telemetry } = await openDb(dir);
    await forwardAll(spool, telemetry);
    expect(await storedCount(telemetry)).toBe(30);
    await spool.append(many(5, 'c', 30));
    await forwardAll(spool, telemetry);
    expect(await storedCount(telemetry)).toBe(35);
    await spool.close();
  });

  it('keeps the checkpoint across restarts: acknowledged segments are gone, nothing replays', async () => {
    const dir = await freshDir();
    const spoolDir = join(dir, 'spool');
    const { telemetry } = await openDb(dir);
    let spool = await openSpool(spoolDir);
    await spool.append(many(10, 'k'));
    await forwardAll(spool, telemetry);
    await spool.close();
    spool = await openSpool(spoolDir);
    expect(spool.stats().depth).toBe(0);
    expect(JSON.parse(await readFile(join(spoolDir, 'checkpoint.json'), 'utf8'))).toMatchObject({ v: 1 });
    await spool.close();
    expect((await readdir(spoolDir)).filter((f) => f.endsWith('.seg'))).toHaveLength(0);
  });

  it('skips a torn last record with a warning, replays the rest and appends cleanly after', async () => {
    const { spoolDir, store } = await tenRecords();
    const [seg] = await segmentsWithRecords(spoolDir);
    await truncate(seg!.path, seg!.size - 3);
    const { logger, lines } = captureLogger();
    const metrics = new Registry();
    const spool = await openSpool(spoolDir, logger, metrics);
    const warn = lines.find((l) => l.level === 40);
    expect(warn).toMatchObject({ segment: seg!.path.split('/').pop(), offset: seg!.offsets[9], reason: 'truncated' });
    expect(spool.stats()).toMatchObject({ depth: 45, corruptTotal: 1 });
    expect(await metricValue(metrics, 'anju_spool_corrupt_records_total')).toBe(1);
    expect((await stat(seg!.path)).size).toBe(seg!.offsets[9]); // the torn tail is cut off
    await spool.append(many(5, 'r', 100));
    await forwardAll(spool, store);
    expect(await storedCount(store)).toBe(50);
    expect(await store.latest('r')).toMatchObject({ ts: many(1, 'r', 104)[0]!.ts });
    await spool.close();
    // Nothing to warn about on the next open.
    const again = captureLogger();
    await (await openSpool(spoolDir, again.logger)).close();
    expect(again.lines.filter((l) => l.level === 40)).toHaveLength(0);
  });

  it('skips a bit-flipped last record', async () => {
    const { spoolDir, store } = await tenRecords();
    const [seg] = await segmentsWithRecords(spoolDir);
    await flipByte(seg!.path, seg!.offsets[9]! + HEADER_BYTES + 10);
    const { logger, lines } = captureLogger();
    const spool = await openSpool(spoolDir, logger);
    expect(lines.find((l) => l.level === 40)).toMatchObject({ offset: seg!.offsets[9], reason: 'payload checksum' });
    expect(spool.stats().depth).toBe(45);
    await forwardAll(spool, store);
    expect(await storedCount(store)).toBe(45);
    await spool.close();
  });

  it('skips a bit-flipped record in the middle exactly and replays those after it', async () => {
    const { spoolDir, store } = await tenRecords();
    const [seg] = await segmentsWithRecords(spoolDir);
    await flipByte(seg!.path, seg!.offsets[4]! + HEADER_BYTES + 3);
    const spool = await openSpool(spoolDir);
    expect(spool.stats()).toMatchObject({ depth: 45, corruptTotal: 1 });
    await forwardAll(spool, store);
    const stored = await store.series({ kind: 'smoke_detector', from: 0, to: Number.MAX_SAFE_INTEGER });
    expect(stored.map((p) => p.values.smoke)).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4,
      0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
    expect(stored).toHaveLength(45);
    expect(stored.some((p) => p.ts === many(1, 'r', 20)[0]!.ts)).toBe(false); // record 4 = ts 20..24
    await spool.close();
  });

  it('re-synchronises after a corrupt header (untrustworthy length) in the middle', async () => {
    const { spoolDir, store } = await tenRecords();
    const [seg] = await segmentsWithRecords(spoolDir);
    await flipByte(seg!.path, seg!.offsets[2]! + 5, 0x40); // the length field of record 2
    const { logger, lines } = captureLogger();
    const spool = await openSpool(spoolDir, logger);
    expect(lines.find((l) => l.level === 40)).toMatchObject({ offset: seg!.offsets[2], reason: 'header checksum' });
    expect(spool.stats().depth).toBe(45);
    await forwardAll(spool, store);
    expect(await storedCount(store)).toBe(45);
    await spool.close();
  });

  it('replays everything when the checkpoint is unreadable', async () => {
    const { spoolDir, store } = await tenRecords();
    await writeFile(join(spoolDir, 'checkpoint.json'), '{"segment": tor');
    const { logger, lines } = captureLogger();
    const spool = await openSpool(spoolDir, logger);
    expect(lines.some((l) => String(l.msg).includes('checkpoint unreadable'))).toBe(true);
    expect(spool.stats().depth).toBe(50);
    await forwardAll(spool, store);
    expect(await storedCount(store)).toBe(50);
    await spool.close();
  });
});
