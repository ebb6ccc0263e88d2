/**
 * Retry delays: exponential backoff with jitter, and a sleep that a shutdown can cut short.
 *
 * Jitter follows "Exponential Backoff and Jitter" (Marc Brooker, AWS Architecture Blog, 2015): many
 * clients retrying one recovering server (hubs against InfluxDB, a fleet against a restarted broker,
 * webhooks against one endpoint) spread out instead of arriving together.
 * - `full`: uniform in [floor, ceiling] — the fewest collisions; the default.
 * - `equal`: half the step fixed, half random — never retries much sooner than the step.
 * - `none`: the ceiling itself.
 */
export interface BackoffPolicy {
  /** Ceiling of the first retry (attempt 0); doubles per attempt. */
  readonly baseMs: number;
  /** Largest ceiling. */
  readonly maxMs: number;
  readonly jitter?: 'full' | 'equal' | 'none';
  /** Least delay for `full` jitter (default 0). */
  readonly floorMs?: number;
}

/** Delay before retry number `attempt` (0-based); `random` in [0, 1) (Math.random, or a seeded rng in tests). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  // 2^30 already exceeds any sensible ceiling; the cap keeps the power finite for huge attempt counts.
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  switch (policy.jitter ?? 'full') {
    case 'none': return ceiling;
    case 'equal': return ceiling / 2 + random() * (ceiling / 2);
    case 'full': {
      const floor = Math.min(policy.floorMs ?? 0, ceiling);
      return floor + random() * (ceiling - floor);
    }
  }
}

/**
 * Sleeps `ms`, or less if `signal` aborts. Resolves true when the full time passed, false when cut
 * short (never rejects, so a retry loop reads `if (!(await sleep(d, signal))) return;`). The timer
 * does not hold the process open.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, Math.max(0, ms));
    timer.unref?.();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Waits that the owner's shutdown cuts short, for a retry loop that has no AbortSignal to hand
 * around: `sleep(ms)` and `until(promise)` both end early when `interrupt()` is called while they
 * wait. An interrupt with nothing waiting is a no-op (it does not pre-empt the next wait).
 */
export interface Interruptible {
  /** Resolves true when the full time passed, false when interrupted. */
  sleep(ms: number): Promise<boolean>;
  /** Resolves when `p` settles or on interrupt, whichever is first; never rejects. */
  until(p: Promise<unknown>): Promise<void>;
  /** Ends the wait in progress, if any. */
  interrupt(): void;
  /** Whether something is waiting now. */
  readonly waiting: boolean;
}

export function createInterruptible(): Interruptible {
  let cut: (() => void) | undefined;
  const wait = <T>(start: (done: (v: T) => void) => () => void, onCut: T): Promise<T> =>
    new Promise<T>((resolve) => {
      let settled = false;
      let cleanup = () => {};
      const finish = (v: T) => {
        if (settled) return;
        settled = true;
        if (cut === stop) cut = undefined;
        cleanup();
        resolve(v);
      };
      const stop = () => finish(onCut);
      cut = stop;
      cleanup = start(finish);
      if (settled) cleanup();
    });
  return {
    sleep: (ms) => wait<boolean>((done) => {
      const t = setTimeout(() => done(true), Math.max(0, ms));
      return () => clearTimeout(t);
    }, false),
    until: (p) => wait<void>((done) => {
      p.then(() => done(), () => done());
      return () => undefined;
    }, undefined),
    interrupt: () => cut?.(),
    get waiting() { return cut !== undefined; },
  };
}
