/**
 * Helpers the benchmarks share: latency samples, percentiles, peak RSS, polling with a deadline.
 */

/** The publishers encode their send time (ms) in seq: seq = ms × 1000 + counter. */
export function sentAt(seq: number): number {
  return Math.floor(seq / 1000);
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The middle value; of an even count, the mean of the middle two. NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A growable array of latency samples (ms). */
export class Latencies {
  private buf = new Float64Array(1 << 16);
  private n = 0;
  push(v: number): void {
    if (this.n === this.buf.length) { const b = new Float64Array(this.buf.length * 2); b.set(this.buf); this.buf = b; }
    this.buf[this.n++] = v;
  }
  get count(): number { return this.n; }
  sorted(): Float64Array { return this.buf.slice(0, this.n).sort(); }
}

/** Samples this process's RSS every 100 ms; stop() returns the peak in MiB. */
export function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const t = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 100);
  return { stop() { clearInterval(t); return Math.round(Math.max(peak, process.memoryUsage.rss()) / 2 ** 20); } };
}

/** Polls cond every 20 ms until it holds or timeoutMs passed (then returns anyway). */
export async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (!cond() && Date.now() - start < timeoutMs) await new Promise((r) => setTimeout(r, 20));
}

/**
 * Latency samples (ms) with the send time of each, split after the run: those sent before a
 * warm-up's end apart from the rest.
 */
export class SentLatencies {
  private readonly sent: number[] = [];
  private readonly lat: number[] = [];
  push(sentAt: number, latency: number): void {
    this.sent.push(sentAt);
    this.lat.push(latency);
  }
  get count(): number { return this.lat.length; }
  /** Sorted latencies of the samples sent at or after `from` (`steady`), and of the rest (`warm`). */
  split(from: number): { steady: Float64Array; warm: Float64Array } {
    const steady = new Latencies();
    const warm = new Latencies();
    for (let i = 0; i < this.lat.length; i += 1) (this.sent[i]! >= from ? steady : warm).push(this.lat[i]!);
    return { steady: steady.sorted(), warm: warm.sorted() };
  }
}
