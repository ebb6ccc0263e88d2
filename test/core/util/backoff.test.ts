import { describe, expect, it } from 'vitest';
import { backoffDelay, createInterruptible, sleep } from '../../../core/util/index.js';

describe('backoffDelay', () => {
  const policy = { baseMs: 100, maxMs: 1_000 };

  it('doubles the ceiling per attempt up to the maximum (no jitter)', () => {
    const delays = [0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, { ...policy, jitter: 'none' }));
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('full jitter spans [floor, ceiling]', () => {
    expect(backoffDelay(2, policy, () => 0)).toBe(0);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(200);
    expect(backoffDelay(2, { ...policy, floorMs: 100 }, () => 0)).toBe(100);
    expect(backoffDelay(2, { ...policy, floorMs: 100 }, () => 0.999_999)).toBeCloseTo(400, 2);
  });

  it('equal jitter never goes below half the step', () => {
    expect(backoffDelay(3, { ...policy, jitter: 'equal' }, () => 0)).toBe(400);
    expect(backoffDelay(3, { ...policy, jitter: 'equal' }, () => 0.5)).toBe(600);
  });

  it('stays finite and capped for absurd attempt counts, and treats a negative attempt as the first', () => {
    expect(backoffDelay(10_000, { ...policy, jitter: 'none' })).toBe(1_000);
    expect(backoffDelay(-3, { ...policy, jitter: 'none' })).toBe(100);
  });

  it('keeps every jittered delay within its bounds over many draws', () => {
    for (let n = 0; n < 1_000; n++) {
      const d = backoffDelay(n % 8, { ...policy, floorMs: 50 });
      expect(d).toBeGreaterThanOrEqual(50);
      expect(d).toBeLessThanOrEqual(1_000);
    }
  });
});

describe('sleep', () => {
  it('resolves true when the time has passed', async () => {
    expect(await sleep(5)).toBe(true);
  });

  it('resolves false at once when the signal aborts, and when it was aborted before', async () => {
    const stop = new AbortController();
    const slept = sleep(60_000, stop.signal);
    stop.abort();
    expect(await slept).toBe(false);
    expect(await sleep(60_000, stop.signal)).toBe(false);
  });
});

describe('createInterruptible', () => {
  it('interrupt ends a long sleep; the next sleep is not pre-empted by it', async () => {
    const waits = createInterruptible();
    const slept = waits.sleep(60_000);
    expect(waits.waiting).toBe(true);
    waits.interrupt();
    expect(await slept).toBe(false);
    expect(waits.waiting).toBe(false);
    waits.interrupt(); // nothing waiting: a no-op
    expect(await waits.sleep(1)).toBe(true);
  });

  it('until resolves with the promise, or on interrupt, and never rejects', async () => {
    const waits = createInterruptible();
    await waits.until(Promise.resolve('x'));
    await waits.until(Promise.reject(new Error('ignored')));
    const never = waits.until(new Promise(() => undefined));
    waits.interrupt();
    await never;
    expect(waits.waiting).toBe(false);
  });
});
