import { describe, expect, it } from 'vitest';
import { createDeduper } from '../../ingest/index.js';
import { dedupeKey } from '../../ingest/dedupe.js';

describe('deduper', () => {
  it('forgets after the ttl', () => {
    const d = createDeduper({ ttlMs: 1000, maxEntries: 10 });
    expect(d.seen(dedupeKey('a', 1, undefined), 0)).toBe(false);
    expect(d.seen(dedupeKey('a', 1, undefined), 999)).toBe(true);
    expect(d.seen(dedupeKey('a', 1, undefined), 2000)).toBe(false);
  });

  it('stays bounded, evicting the oldest', () => {
    const d = createDeduper({ ttlMs: 60_000, maxEntries: 100 });
    for (let i = 0; i < 1000; i++) d.seen(dedupeKey('a', i, undefined), i);
    expect(d.size()).toBeLessThanOrEqual(100);
    expect(d.seen(dedupeKey('a', 999, undefined), 1000)).toBe(true);
    expect(d.seen(dedupeKey('a', 0, undefined), 1000)).toBe(false);
  });

  it('past its bound remembers at least the last half of it, however many it has seen', () => {
    const d = createDeduper({ ttlMs: 60_000, maxEntries: 1000 });
    for (let n = 1; n <= 20_000; n++) {
      d.seen(dedupeKey('a', n, undefined), 0);
      if (n % 1_337 !== 0) continue;
      expect(d.size()).toBeLessThanOrEqual(1000);
      // Each of the last 500 is still a repeat (asked in reverse, so asking does not move the window).
      for (let k = n; k > Math.max(0, n - 500); k--) expect(d.seen(dedupeKey('a', k, undefined), 1), `${k} after ${n}`).toBe(true);
    }
  });

  it('keys on device, seq and the device\'s own ts; a forgotten key is new again', () => {
    const d = createDeduper({ ttlMs: 60_000, maxEntries: 100 });
    expect(d.seen(dedupeKey('a', 1, 1000), 0)).toBe(false);
    expect(d.seen(dedupeKey('a', 1, 2000), 0)).toBe(false); // a rebooted counter, time moved on
    expect(d.seen(dedupeKey('b', 1, 1000), 0)).toBe(false);
    expect(d.seen(dedupeKey('a', 1, undefined), 0)).toBe(false);
    expect(d.seen(dedupeKey('a', 1, 1000), 1)).toBe(true);
    d.forget(dedupeKey('a', 1, 1000));
    expect(d.seen(dedupeKey('a', 1, 1000), 2)).toBe(false);
  });
});
