import type { MqttClient } from 'mqtt';
import { backoffDelay } from '../core/util/index.js';
import type { Rng } from './random.js';

/**
 * Small pieces of the fleet runner that hold no MQTT state: the rate meter, the connect gate, the
 * backoff and the clean close. Kept apart so fleet.ts stays about connections and ticks.
 */

/** Events per second over a sliding window, in a fixed ring of per-second buckets (no memory per event). */
export function createRateMeter(windowS: number, clock: () => number) {
  const buckets = new Array<number>(windowS + 1).fill(0);
  let current = Math.floor(clock() / 1000);
  const roll = (): number => {
    const s = Math.floor(clock() / 1000);
    for (let k = current + 1; k <= Math.min(s, current + buckets.length); k++) buckets[k % buckets.length] = 0;
    current = Math.max(current, s);
    return s;
  };
  return {
    add(): void {
      const i = roll() % buckets.length;
      buckets[i] = (buckets[i] ?? 0) + 1;
    },
    /** Mean rate over the last `windowS` complete seconds. */
    rate(): number {
      const now = roll();
      let sum = 0;
      for (let k = now - windowS; k < now; k++) sum += buckets[((k % buckets.length) + buckets.length) % buckets.length] ?? 0;
      return sum / windowS;
    },
  };
}

/**
 * A counting semaphore for connection attempts. Thousands of devices opening at once would each
 * wait in the broker's authentication queue (a scrypt per device) until their CONNECT times out and
 * they start again — a connect storm that never converges. With a bounded number of CONNECTs in
 * flight, the fleet connects as fast as the broker authenticates and no faster.
 */
export function createGate(limit: number) {
  let busy = 0;
  const waiting: Array<() => void> = [];
  return {
    /** Runs `fn` when a slot is free; `fn` receives the release function (idempotent). */
    run(fn: (release: () => void) => void): void {
      const go = () => {
        busy++;
        let released = false;
        fn(() => {
          if (released) return;
          released = true;
          busy--;
          waiting.shift()?.();
        });
      };
      if (busy < limit) go();
      else waiting.push(go);
    },
    clear(): void {
      waiting.length = 0;
    },
    get waiting(): number {
      return waiting.length;
    },
  };
}

/** Exponential backoff with "full jitter": uniform in [min, min·2^attempt], capped at max. */
export function backoffMs(attempt: number, minMs: number, maxMs: number, rng: Rng): number {
  return backoffDelay(attempt, { baseMs: minMs, maxMs, floorMs: minMs }, () => rng.next());
}

/** Frees a gate slot once the attempt has an outcome (CONNACK or close), whichever comes first. */
export function releaseOnOutcome(client: MqttClient, release: () => void): void {
  const done = () => {
    client.off('connect', done);
    client.off('close', done);
    release();
  };
  client.on('connect', done);
  client.on('close', done);
}

/** Retained `offline` (pairing the Will), then a clean DISCONNECT; force-closed after a grace period. */
export async function endClient(client: MqttClient | undefined, statusTopic: string, announce: boolean): Promise<void> {
  if (!client) return;
  if (client.connected && announce) {
    await Promise.race([
      client.publishAsync(statusTopic, 'offline', { qos: 1, retain: true }).catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 1_000)),
    ]);
  }
  // A clean DISCONNECT (no Will) when we can; force-close otherwise.
  const graceful = client.endAsync(!client.connected);
  const timedOut = await Promise.race([graceful.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 2_000))]);
  if (timedOut) await client.endAsync(true);
}
