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
   * `abandoned` without running it. `urgent` checks (service accounts: a hub's ingest, a bridge —
   * few, and the fleet's data waits on them) go before every device's.
   */
  run<T>(stillWaiting: () => boolean, check: () => Promise<T>, options?: { urgent?: boolean }): Promise<T | typeof abandoned>;
  /** Checks waiting for a slot (an abandoned one counts until its turn comes). */
  waiting(): number;
}

export const abandoned: unique symbol = Symbol('abandoned');

/** As many checks at once as there are cores (at most 4, the default thread pool). */
export const defaultCredentialConcurrency = Math.max(1, Math.min(4, availableParallelism()));

/** A queue with a moving head: a storm of 20,000 CONNECTs would make Array#shift quadratic. */
function createFifo<T>() {
  let items: T[] = [];
  let head = 0;
  return {
    push: (item: T) => void items.push(item),
    shift(): T | undefined {
      if (head >= items.length) return undefined;
      const item = items[head]!;
      head += 1;
      if (head === items.length) {
        items = [];
        head = 0;
      }
      return item;
    },
    size: () => items.length - head,
  };
}

export function createCredentialGate(config: { concurrency: number; onWaiting?: (n: number) => void }): CredentialGate {
  if (!(config.concurrency >= 1)) throw new RangeError('credential gate: need concurrency >= 1');
  let running = 0;
  const urgent = createFifo<() => void>();
  const normal = createFifo<() => void>();
  const waiting = () => urgent.size() + normal.size();

  /**
   * Urgent ones taken in a row while devices wait: urgency is claimed by a username not yet verified,
   * so a guesser sending a service account's name gets at most this share, never all of it.
   */
  const MAX_URGENT_IN_A_ROW = 3;
  let urgentInARow = 0;

  function next(): void {
    while (running < config.concurrency) {
      const takeNormal = normal.size() > 0 && (urgent.size() === 0 || urgentInARow >= MAX_URGENT_IN_A_ROW);
      const start = takeNormal ? normal.shift() : urgent.shift();
      if (!start) break;
      // Counted only while devices wait: the first device arriving after a run of urgent ones still queues behind them.
      urgentInARow = takeNormal || normal.size() === 0 ? 0 : urgentInARow + 1;
      start();
    }
    config.onWaiting?.(waiting());
  }

  return {
    run(stillWaiting, check, options) {
      return new Promise((resolve, reject) => {
        (options?.urgent ? urgent : normal).push(() => {
          let there: boolean;
          try {
            there = stillWaiting();
          } catch (err) {
            reject(err);
            return;
          }
          if (!there) {
            resolve(abandoned);
            return;
          }
          running += 1;
          let checked: Promise<unknown>;
          try {
            checked = check();
          } catch (err) {
            checked = Promise.reject(err);
          }
          checked.then(resolve as (v: unknown) => void, reject).finally(() => {
            running -= 1;
            next();
          });
        });
        next();
      });
    },
    waiting,
  };
}
