import { availableParallelism } from 'node:os';

/**
 * Runs the credential checks of CONNECTs (an scrypt each, ~30 ms of a core) a few at a time, in
 * arrival order, and skips the check of a client that has gone meanwhile.
 *
 * Why: a hub restart makes every device reconnect at once. Handed straight to Node's thread pool,
 * each CONNECT's scrypt is queued there and runs even after its client gave up waiting for the
 * CONNACK (MQTT.js waits 30 s, ESP-IDF's client 10 s) and connected again: the pool then spends
 * its time verifying connections that no longer exist, every retry joins the back of the queue, and
 * the fleet does not converge (measured: 300 devices, a 1.5 s client timeout, 52 connected after
 * 40 s and 5,662 checks). Waiting here instead, where a client's departure can be seen before its
 * check starts, the checks run only for clients still there: the same 300 connect in a few seconds.
 * The bound also leaves the pool's other threads to the spool's fsyncs and DuckDB while a storm lasts.
 */
export interface CredentialGate {
  /**
   * Runs `check` once a slot is free, unless `stillWaiting()` is false by then: it then resolves
   * `abandoned` without running it.
   */
  run<T>(stillWaiting: () => boolean, check: () => Promise<T>): Promise<T | typeof abandoned>;
  /** Checks waiting for a slot. */
  waiting(): number;
}

export const abandoned: unique symbol = Symbol('abandoned');

/** As many checks at once as there are cores (at most 4, the default thread pool). */
export const defaultCredentialConcurrency = Math.max(1, Math.min(4, availableParallelism()));

export function createCredentialGate(config: { concurrency: number; onAbandoned?: () => void; onWaiting?: (n: number) => void }): CredentialGate {
  if (!(config.concurrency >= 1)) throw new RangeError('credential gate: need concurrency >= 1');
  let running = 0;
  // A queue with a moving head: a storm of 20,000 CONNECTs would make Array#shift quadratic.
  let queue: (() => void)[] = [];
  let head = 0;

  function next(): void {
    while (running < config.concurrency && head < queue.length) {
      const start = queue[head]!;
      head += 1;
      if (head === queue.length) {
        queue = [];
        head = 0;
      }
      start();
    }
    config.onWaiting?.(queue.length - head);
  }

  return {
    run(stillWaiting, check) {
      return new Promise((resolve, reject) => {
        queue.push(() => {
          if (!stillWaiting()) {
            config.onAbandoned?.();
            resolve(abandoned);
            return;
          }
          running += 1;
          check().then(resolve, reject).finally(() => {
            running -= 1;
            next();
          });
        });
        next();
      });
    },
    waiting: () => queue.length - head,
  };
}
