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
