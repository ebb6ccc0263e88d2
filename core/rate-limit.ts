/**
 * A token bucket per key (a remote IP): `perMinute` tokens of capacity, refilled continuously at
 * `perMinute` per minute. The broker takes one per CONNECT, the API one per failed authentication.
 *
 * The map is bounded: buckets that have refilled carry no information and are swept, and when it
 * is still full the least recently used bucket is evicted (Map keeps insertion order and we
 * re-insert on use). Eviction only ever forgives, it never blocks anyone wrongly.
 */
export class KeyedTokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly ratePerMs: number;

  constructor(
    private readonly perMinute: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.ratePerMs = perMinute / 60_000;
  }

  /** Takes a token for `key`; false when its bucket is empty. A non-positive rate disables the limit. */
  tryTake(key: string): boolean {
    if (!(this.perMinute > 0)) return true;
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket) {
      this.buckets.delete(key);
      bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * this.ratePerMs);
      bucket.at = now;
    } else {
      if (this.buckets.size >= this.maxEntries) this.sweep();
      if (this.buckets.size >= this.maxEntries) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      bucket = { tokens: this.perMinute, at: now };
    }
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Milliseconds until `key` has a token again (0: it has one now). Takes nothing. */
  waitMs(key: string): number {
    if (!(this.perMinute > 0)) return 0;
    const bucket = this.buckets.get(key);
    if (!bucket) return 0;
    const tokens = Math.min(this.perMinute, bucket.tokens + (this.now() - bucket.at) * this.ratePerMs);
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / this.ratePerMs);
  }

  /** Drops buckets that are full again (they would be recreated identical). */
  sweep(): void {
    const now = this.now();
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.ratePerMs >= this.perMinute) this.buckets.delete(key);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}
