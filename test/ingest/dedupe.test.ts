import { describe, expect, it } from 'vitest';
import { createDeduper } from '../../ingest/index.js';

describe('deduper', () => {
  it('forgets after the ttl', () => {
    const d = createDeduper({ ttlMs: 1000, maxEntries: 10 });
    expect(d.seen('a', 1, undefined, 0)).toBe(false);
    expect(d.seen('a', 1, undefined, 999)).toBe(true);
    expect(d.seen('a', 1, undefined, 2000)).toBe(false);
  });

  it('stays bounded, evicting the oldest', () => {
    const d = createDeduper({ ttlMs: 60_000, maxEntries: 100 });
    for (let i = 0; i < 1000; i++) d.seen('a', i, undefined, i);
    expect(d.size()).toBeLessThanOrEqual(100);
    expect(d.seen('a', 999, undefined, 1000)).toBe(true);
    expect(d.seen('a', 0, undefined, 1000)).toBe(false);
  });
});
