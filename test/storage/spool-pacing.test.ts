import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../core/index.js';
import { createSpool, createSpoolForwarder, type TelemetryStore } from '../../storage/index.js';
import { cleanup, freshDir, many, openDb, reading, storedCount, T0 } from './spool.helpers.js';

const silent = pino({ level: 'silent' });
afterEach(cleanup);

/** The real embedded store, with the start time and size of every write it is given; `slowMs` delays each write's start. */
function recording(inner: TelemetryStore, slowMs = 0) {
  const writes: { at: number; size: number }[] = [];
  const store: TelemetryStore = {
    name: inner.name, latest: (d) => inner.latest(d), latestAll: () => inner.latestAll(), series: (q) => inner.series(q), close: () => inner.close(),
    write(batch: readonly Reading[]) {
      writes.push({ at: performance.now(), size: batch.length });
      if (slowMs === 0) return inner.write(batch);
      return new Promise((r) => setTimeout(r, slowMs)).then(() => inner.write(batch));
    },
  };
  return { store, writes };
}

async function setup(maxBatch: number, minWriteIntervalMs: number,
  share: { maxWriteShare?: number; maxWriteIntervalMs?: number; slowMs?: number; startBatch?: number } = {}) {
  const dir = await freshDir();
  const db = await openDb(dir);
  const spool = await createSpool({ dir: `${dir}/spool`, segmentBytes: 1 << 20, quotaBytes: 64 << 20, groupCommitMs: 1, fsync: true }, { logger: silent, metrics: new Registry() });
  const { store, writes } = recording(db.telemetry, share.slowMs);
  const { maxWriteShare, maxWriteIntervalMs, startBatch } = share;
  const forwarder = createSpoolForwarder({ maxBatch, minWriteIntervalMs, closeTimeoutMs: 200, maxWriteShare, maxWriteIntervalMs, startBatch },
    { spool, store, logger: silent, metrics: new Registry() });
  forwarder.start();
  return { db, spool, forwarder, writes };
}

const until = async (cond: () => boolean, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
};

describe('spool forwarder: minWriteIntervalMs', () => {
  it('writes the first reading at once, then gathers what comes within the interval into one write', async () => {
    const { db, spool, forwarder, writes } = await setup(500, 1_000);
    const t0 = performance.now();
    await spool.append([reading('a', T0)]);
    await until(() => writes.length === 1);
    // Nothing written for a while before: no pause.
    expect(writes[0]!.at - t0).toBeLessThan(500);
    for (let i = 1; i <= 5; i++) {
      await spool.append([reading('a', T0 + i * 1000)]);
      await new Promise((r) => setTimeout(r, 10));
    }
    await forwarder.flush();
    expect(writes.map((w) => w.size)).toEqual([1, 5]);
    expect(writes[1]!.at - writes[0]!.at).toBeGreaterThanOrEqual(995);
    expect(await storedCount(db.telemetry)).toBe(6);
    await forwarder.close();
    await spool.close();
  });

  it('never holds back a full batch, and close() cuts the pause short', async () => {
    const { spool, forwarder, writes } = await setup(10, 60_000);
    await spool.append(many(1, 'b'));
    await until(() => writes.length === 1);
    // In its 60 s pause with everything forwarded: idle, as when it waits for the next append.
    await until(() => forwarder.stats().idle);
    // 25 arrive, one record each (an append is never split across records): each time 10 are
    // waiting they go at once, whatever the pause; the 5 left wait for the interval.
    for (const r of many(25, 'b', 1)) await spool.append([r]);
    await until(() => writes.length === 3);
    expect(writes.map((w) => w.size)).toEqual([1, 10, 10]);
    await until(() => forwarder.stats().forwarded === 21);
    await new Promise((r) => setTimeout(r, 100));
    expect(writes).toHaveLength(3);
    expect(forwarder.stats().idle).toBe(false); // 5 are waiting out the pause
    const closing = performance.now();
    await forwarder.close();
    expect(performance.now() - closing).toBeLessThan(1_000);
    expect(spool.stats().depth).toBe(5); // replayed on the next start, not lost
    await spool.close();
  });

  it('keeps the event loop turning when the spool closes under a pausing forwarder', async () => {
    const { spool, forwarder, writes } = await setup(500, 300);
    await spool.append(many(1, 'c'));
    await until(() => writes.length === 1);
    await spool.close();
    // A pause that looped on a settled promise would starve the timers: this one must still fire.
    const turned = await Promise.race([new Promise((r) => setTimeout(() => r(true), 50)), new Promise((r) => setTimeout(() => r(false), 2_000))]);
    expect(turned).toBe(true);
    await new Promise((r) => setTimeout(r, 400)); // past the pause: the forwarder goes back to waiting for records
    const closing = performance.now();
    await forwarder.close();
    expect(performance.now() - closing).toBeLessThan(1_000);
  });

  it('refuses a negative interval', () => {
    expect(() => createSpoolForwarder({ maxBatch: 10, minWriteIntervalMs: -1 }, {} as never)).toThrow(RangeError);
  });
});

/** Appends one reading every `everyMs` for `forMs`, awaiting each (as ingest does). */
async function stream(spool: Awaited<ReturnType<typeof setup>>['spool'], device: string, forMs: number, everyMs: number): Promise<number> {
  const end = performance.now() + forMs;
  let n = 0;
  while (performance.now() < end) {
    await spool.append([reading(device, T0 + n * 1000)]);
    n += 1;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return n;
}

describe('spool forwarder: startBatch', () => {
  it('starts a write once startBatch readings wait, without waiting out the interval; fewer wait for it', async () => {
    const { db, spool, forwarder, writes } = await setup(500, 60_000, { startBatch: 10 });
    await spool.append(many(1, 's'));
    await until(() => writes.length === 1);
    await until(() => forwarder.stats().idle); // in its 60 s pause
    const rs = many(15, 's', 1);
    // Nine arrive, one record each: fewer than 10 wait out the interval.
    for (const r of rs.slice(0, 9)) await spool.append([r]);
    await new Promise((r) => setTimeout(r, 200));
    expect(writes).toHaveLength(1);
    // The tenth: a write starts at once, 59 s before the interval ends.
    const t = performance.now();
    await spool.append([rs[9]!]);
    await until(() => writes.length === 2);
    expect(writes[1]!.at - t).toBeLessThan(1_000);
    expect(writes[1]!.size).toBe(10);
    await until(() => forwarder.stats().forwarded === 11);
    // Five more: fewer than 10 again, so they wait.
    for (const r of rs.slice(10)) await spool.append([r]);
    await new Promise((r) => setTimeout(r, 200));
    expect(writes).toHaveLength(2);
    await forwarder.close();
    expect(await storedCount(db.telemetry)).toBe(11);
    expect(spool.stats().depth).toBe(5); // replayed on the next start, not lost
    await spool.close();
  });

  it('starts an early batch when the write share\'s rest is over, long before the interval', async () => {
    // A share of 10 % asks for a rest of 9 × the smoothed write (≥ 100 / 4 ms after one slow write);
    // the interval is a minute. Ten readings waiting: the write goes when the rest is over.
    const { db, spool, forwarder, writes } = await setup(500, 60_000, { maxWriteShare: 0.1, slowMs: 100, startBatch: 10 });
    await spool.append(many(1, 'r'));
    await until(() => forwarder.stats().forwarded === 1);
    await spool.append(many(10, 'r', 1));
    await until(() => writes.length === 2, 10_000);
    expect(writes[1]!.size).toBe(10);
    const gap = writes[1]!.at - writes[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(100 + 9 * 25 - 30); // the first write itself, then the rest (timer slack)
    expect(gap).toBeLessThan(10_000);
    await forwarder.flush();
    expect(await storedCount(db.telemetry)).toBe(11);
    await forwarder.close();
    await spool.close();
  });

  it('still leaves the write share its rest: early batches do not crowd slow writes together', async () => {
    // startBatch 5 is reached within every pause; each write takes ≥ 60 ms and the share is a quarter.
    const { db, spool, forwarder, writes } = await setup(5_000, 10, { maxWriteShare: 0.25, maxWriteIntervalMs: 1_000, slowMs: 60, startBatch: 5 });
    const n = await stream(spool, 'e', 2_000, 3);
    await forwarder.flush();
    expect(await storedCount(db.telemetry)).toBe(n);
    const gaps = writes.slice(4).map((w, i) => w.at - writes[i + 3]!.at);
    expect(gaps.length).toBeGreaterThan(0);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(160); // as in the share test below
    await forwarder.close();
    await spool.close();
  });

  it('refuses a startBatch under 1', () => {
    expect(() => createSpoolForwarder({ maxBatch: 10, startBatch: 0 }, {} as never)).toThrow(RangeError);
  });
});

describe('spool forwarder: maxWriteShare', () => {
  it('spaces slow writes out so batches grow: at most a quarter of the time in writes, nothing lost', async () => {
    // Each write takes ≥ 60 ms; the interval alone (10 ms) would start the next as soon as one ends.
    const { db, spool, forwarder, writes } = await setup(5_000, 10, { maxWriteShare: 0.25, maxWriteIntervalMs: 1_000, slowMs: 60 });
    const n = await stream(spool, 'w', 2_000, 3);
    await forwarder.flush();
    expect(await storedCount(db.telemetry)).toBe(n);
    // From the fourth write on the smoothed duration is ≥ 60 × (1 − 0.75³) ≈ 35 ms, so each pause is
    // ≥ 3 × that: write starts at least 60 + 105 ms apart (a slower machine only lengthens both).
    const gaps = writes.slice(4).map((w, i) => w.at - writes[i + 3]!.at);
    expect(gaps.length).toBeGreaterThan(0);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(160);
    await forwarder.close();
    await spool.close();
  });

  it('caps the pause at maxWriteIntervalMs and never holds back a full batch', async () => {
    // A share of 1 % asks for a pause of 99 × a write: capped at 400 ms from the last read.
    const { spool, forwarder, writes } = await setup(20, 10, { maxWriteShare: 0.01, maxWriteIntervalMs: 400, slowMs: 50 });
    await stream(spool, 'x', 600, 20);
    await forwarder.flush();
    const gaps = writes.slice(1).map((w, i) => w.at - writes[i]!.at);
    for (const g of gaps) expect(g).toBeLessThan(400 + 50 + 300); // the cap, the write itself, a busy machine's slack
    // In the pause after that write: 20 readings at once (maxBatch) go at once, not after the pause.
    const before = writes.length;
    const t = performance.now();
    await spool.append(Array.from({ length: 20 }, (_, i) => reading('y', T0 + i * 1000)));
    await until(() => writes.length > before);
    expect(writes.at(-1)!.size).toBe(20);
    expect(writes.at(-1)!.at - t).toBeLessThan(400);
    await forwarder.close();
    await spool.close();
  });

  it('refuses a share outside (0, 1]', () => {
    expect(() => createSpoolForwarder({ maxBatch: 10, maxWriteShare: 0 }, {} as never)).toThrow(RangeError);
    expect(() => createSpoolForwarder({ maxBatch: 10, maxWriteShare: 1.5 }, {} as never)).toThrow(RangeError);
  });
});
