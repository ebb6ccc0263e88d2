import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../core/index.js';
import { createSpool, createSpoolForwarder, type TelemetryStore } from '../../storage/index.js';
import { cleanup, freshDir, many, openDb, reading, storedCount, T0 } from './spool.helpers.js';

const silent = pino({ level: 'silent' });
afterEach(cleanup);

/** The real embedded store, with the start time and size of every write it is given. */
function recording(inner: TelemetryStore) {
  const writes: { at: number; size: number }[] = [];
  const store: TelemetryStore = {
    name: inner.name, latest: (d) => inner.latest(d), latestAll: () => inner.latestAll(), series: (q) => inner.series(q), close: () => inner.close(),
    write(batch: readonly Reading[]) {
      writes.push({ at: performance.now(), size: batch.length });
      return inner.write(batch);
    },
  };
  return { store, writes };
}

async function setup(maxBatch: number, minWriteIntervalMs: number) {
  const dir = await freshDir();
  const db = await openDb(dir);
  const spool = await createSpool({ dir: `${dir}/spool`, segmentBytes: 1 << 20, quotaBytes: 64 << 20, groupCommitMs: 1, fsync: true }, { logger: silent, metrics: new Registry() });
  const { store, writes } = recording(db.telemetry);
  const forwarder = createSpoolForwarder({ maxBatch, minWriteIntervalMs, closeTimeoutMs: 200 }, { spool, store, logger: silent, metrics: new Registry() });
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
