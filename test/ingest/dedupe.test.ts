import { describe, expect, it } from 'vitest';
import { createDeduper } from '../../ingest/index.js';
import type { Deduper } from '../../ingest/dedupe.js';

/** The pipeline's use: a repeat if found, else recorded as seen now. */
function seen(d: Deduper, device: string, seq: number, ts: number | undefined, now: number): boolean {
  return d.seen(device, seq, ts, now);
}

describe('deduper', () => {
  it('seen() answers as find() then add() do, step by step: expiry, forget, generations, devices, no ts', () => {
    // Two dedupers fed the same random history; one asks seen(), the other find() then add().
    const config = { ttlMs: 50, maxEntries: 64 };
    const a = createDeduper(config);
    const b = createDeduper(config);
    let x = 7;
    const rand = (n: number) => ((x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0) % n);
    let now = 0;
    let repeats = 0;
    for (let step = 0; step < 20_000; step += 1) {
      now += rand(3);
      const device = `d${rand(4)}`;
      const seq = rand(40);
      const ts = rand(5) === 0 ? undefined : 1_000 + rand(3);
      if (rand(10) === 0) {
        a.forget(device, seq, ts);
        b.forget(device, seq, ts);
        continue;
      }
      const viaFind = b.find(device, seq, ts, now);
      if (!viaFind) b.add(device, seq, ts, now);
      expect(a.seen(device, seq, ts, now), `step ${step}: ${device} ${seq} ${String(ts)} at ${now}`).toBe(viaFind);
      if (viaFind) repeats += 1;
    }
    expect(a.size()).toBe(b.size());
    // Both verdicts occurred often enough to mean something.
    expect(repeats).toBeGreaterThan(2_000);
    expect(repeats).toBeLessThan(18_000);
  });

  it('forgets after the ttl', () => {
    const d = createDeduper({ ttlMs: 1000, maxEntries: 10 });
    expect(seen(d, 'a', 1, undefined, 0)).toBe(false);
    expect(seen(d, 'a', 1, undefined, 999)).toBe(true);
    expect(seen(d, 'a', 1, undefined, 2000)).toBe(false);
    expect(seen(d, 'a', 1, undefined, 2999)).toBe(true); // the window restarted when it was seen anew
    expect(d.size()).toBe(1);
  });

  it('stays bounded, evicting the oldest', () => {
    const d = createDeduper({ ttlMs: 60_000, maxEntries: 100 });
    for (let i = 0; i < 1000; i++) seen(d, 'a', i, undefined, i);
    expect(d.size()).toBeLessThanOrEqual(100);
    expect(seen(d, 'a', 999, undefined, 1000)).toBe(true);
    expect(seen(d, 'a', 0, undefined, 1000)).toBe(false);
  });

  it('past its bound remembers at least the last half of it, however many it has seen, across devices', () => {
    const d = createDeduper({ ttlMs: 60_000, maxEntries: 1000 });
    for (let n = 1; n <= 20_000; n++) {
      seen(d, `d${n % 7}`, n, undefined, 0);
      if (n % 1_337 !== 0) continue;
      expect(d.size()).toBeLessThanOrEqual(1000);
      // Each of the last 500 is still a repeat (asked in reverse, so asking does not move the window).
      for (let k = n; k > Math.max(0, n - 500); k--) expect(seen(d, `d${k % 7}`, k, undefined, 1), `${k} after ${n}`).toBe(true);
    }
  });

  it('keys on device, seq and the device\'s own ts; a forgotten message is new again', () => {
    const d = createDeduper({ ttlMs: 60_000, maxEntries: 100 });
    expect(seen(d, 'a', 1, 1000, 0)).toBe(false);
    expect(seen(d, 'a', 1, 2000, 0)).toBe(false); // a rebooted counter, time moved on
    expect(seen(d, 'b', 1, 1000, 0)).toBe(false);
    expect(seen(d, 'a', 1, undefined, 0)).toBe(false);
    expect(seen(d, 'a', 1, 1000, 1)).toBe(true);
    expect(seen(d, 'a', 1, 2000, 1)).toBe(true);
    expect(seen(d, 'a', 1, undefined, 1)).toBe(true);
    // Forgetting one of three messages that share a seq leaves the other two.
    d.forget('a', 1, 2000);
    expect(seen(d, 'a', 1, 1000, 2)).toBe(true);
    expect(seen(d, 'a', 1, undefined, 2)).toBe(true);
    expect(seen(d, 'a', 1, 2000, 2)).toBe(false);
    d.forget('a', 1, undefined);
    expect(seen(d, 'a', 1, undefined, 3)).toBe(false);
    d.forget('a', 1, 1000);
    expect(seen(d, 'a', 1, 1000, 3)).toBe(false);
    expect(seen(d, 'b', 1, 1000, 3)).toBe(true);
  });

  it('holds any seq a device sends: zero, large, fractional', () => {
    const d = createDeduper({ ttlMs: 60_000, maxEntries: 100 });
    for (const seq of [0, 2 ** 31, 2 ** 53 - 1, 1.5]) {
      expect(seen(d, 'a', seq, 5, 0), String(seq)).toBe(false);
      expect(seen(d, 'a', seq, 5, 1), String(seq)).toBe(true);
    }
  });

  it('a forgotten message leaves the ones probed past it reachable, and forgetting never overfills a table', () => {
    // 16 entries per generation in a 32-slot table: many of these 2,000 messages share probe chains.
    const d = createDeduper({ ttlMs: 60_000, maxEntries: 32 });
    for (let round = 0; round < 100; round++) {
      const msgs = Array.from({ length: 16 }, (_, i) => [`dev-${(round + i) % 5}`, round * 16 + i, 1_000 + i] as const);
      for (const [dev, seq, ts] of msgs) expect(seen(d, dev, seq, ts, round)).toBe(false);
      // Forget every other one: the rest must still be repeats, the forgotten ones new again.
      for (const [dev, seq, ts] of msgs.filter((_, i) => i % 2 === 0)) d.forget(dev, seq, ts);
      for (const [i, [dev, seq, ts]] of msgs.entries()) expect(d.find(dev, seq, ts, round), `${dev} ${seq}`).toBe(i % 2 === 1);
      expect(d.size()).toBeLessThanOrEqual(32);
    }
  });

  it('messages forgotten as fast as they come (a spool refusing everything) do not fill a table', () => {
    const d = createDeduper({ ttlMs: 60_000, maxEntries: 32 });
    for (let n = 0; n < 1_000; n++) {
      expect(seen(d, 'a', n, undefined, 0)).toBe(false);
      d.forget('a', n, undefined);
      expect(d.find('a', n, undefined, 0)).toBe(false);
    }
    expect(d.size()).toBeLessThanOrEqual(32);
  });

  it('an unknown device is never a repeat, and forgetting it is a no-op', () => {
    const d = createDeduper({ ttlMs: 60_000, maxEntries: 100 });
    expect(d.find('nobody', 1, 1, 0)).toBe(false);
    d.forget('nobody', 1, 1);
    expect(d.size()).toBe(0);
  });
});
