/**
 * Runs jobs one at a time, in the order they were given: a DuckDB connection (one statement at a
 * time), a scheduler's runs, a file reload. Each caller gets its own job's outcome; a job that
 * fails does not stop the ones queued after it.
 */
export interface SerialQueue {
  run<T>(job: () => T | Promise<T>): Promise<T>;
  /** Resolves once every job queued so far has settled (whatever its outcome). */
  idle(): Promise<void>;
}

export function createSerialQueue(): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(job: () => T | Promise<T>): Promise<T> {
      const next = tail.then(job);
      tail = next.catch(() => undefined);
      return next;
    },
    idle: () => tail.then(() => undefined),
  };
}
