import type { Logger } from 'pino';
import { kindNames } from '../../core/index.js';
import { createInterruptible } from '../../core/util/index.js';
import { toNumber, type SerialConnection } from './connection.js';
import { hourMs } from './hourly.js';
import { kindTables } from './schema.js';

export const dayMs = 86_400_000;

export interface RetentionConfig {
  /** Raw readings older than this many days are deleted; 0 keeps them forever. */
  rawDays: number;
  /** Time between passes (default one hour: the floor moves by the hour). */
  intervalMs?: number;
  /** Largest span of readings one DELETE covers, so one transaction stays short (default 6 h). */
  sliceMs?: number;
}

export interface RetentionPass {
  readonly floor: number;
  readonly deleted: number;
  readonly ms: number;
}

export interface EmbeddedRetention {
  /**
   * The raw floor at `now`: readings before it are past the period. It is the start of the hour
   * the period's edge falls in, so every hour is either wholly raw or wholly gone (an hour's
   * aggregate is recomputed from its readings only while it is wholly raw); 0 when kept forever.
   */
  floorAt(now: number): number;
  /** One pass: deletes every raw reading before the floor, slice by slice on the writer. */
  runOnce(): Promise<RetentionPass>;
  /** Runs a pass now and then every interval until `stop()`. */
  start(): void;
  stop(): Promise<void>;
  /** Rows deleted by passes of this process. */
  deletedTotal(): number;
}

/**
 * Deletes raw readings past the retention period in the background. Each slice is its own short
 * transaction on the writer connection (the only writer of the kind tables, so no write conflict),
 * queued between telemetry batches: ingest waits for at most one slice, never for the whole pass.
 * Hourly aggregates and daily register rollups are other tables and are never touched here.
 */
export function createEmbeddedRetention(config: RetentionConfig,
  deps: { writer: SerialConnection; logger: Logger; now?: () => number; beforePass?: () => Promise<void> }): EmbeddedRetention {
  const { writer, logger } = deps;
  const now = deps.now ?? Date.now;
  const intervalMs = config.intervalMs ?? hourMs;
  const sliceMs = config.sliceMs ?? 6 * hourMs;
  let deleted = 0;
  let running: Promise<void> | undefined;
  const sleep = createInterruptible();
  let stopped = false;

  const floorAt = (t: number): number => {
    if (config.rawDays <= 0) return 0;
    const edge = t - config.rawDays * dayMs;
    return Math.max(0, edge - (edge % hourMs));
  };

  function cutShort(floor: number, removed: number, started: number): RetentionPass {
    deleted += removed;
    const pass = { floor, deleted: removed, ms: Math.round(performance.now() - started) };
    logger.info(pass, 'retention pass cut short by the shutdown; the next start carries on');
    return pass;
  }

  async function runOnce(): Promise<RetentionPass> {
    const started = performance.now();
    const floor = floorAt(now());
    let removed = 0;
    if (floor > 0) {
      // Pending hourly aggregates are written first: a pending hour found late is recomputed from its raw readings.
      await deps.beforePass?.();
      for (const kind of kindNames) {
        const table = kindTables[kind].table;
        const lo = toNumber((await writer.query(`SELECT min(ts) AS lo FROM ${table} WHERE ts < $1`, [BigInt(floor)]))[0]?.lo ?? null);
        if (lo === null) continue;
        for (let from = lo; from < floor; from += sliceMs) {
          // Stopped (a shutdown): the rest waits for the next start's pass, not for the shutdown's
          // step timeout; the floor is not recorded as reached.
          if (stopped) return cutShort(floor, removed, started);
          const to = Math.min(floor, from + sliceMs);
          removed += await writer.transaction(async (conn) => {
            const r = await conn.runAndReadAll(`DELETE FROM ${table} WHERE ts >= $1 AND ts < $2`, [BigInt(from), BigInt(to)]);
            return Number(r.rowsChanged);
          });
        }
      }
      await writer.run(`INSERT INTO retention_state VALUES ('raw_floor', $1) ON CONFLICT (key) DO UPDATE SET value = greatest(value, excluded.value)`,
        [BigInt(floor)]);
      await writer.run(`INSERT INTO retention_state VALUES ('deleted', $1) ON CONFLICT (key) DO UPDATE SET value = value + excluded.value`,
        [BigInt(removed)]);
    }
    deleted += removed;
    const pass = { floor, deleted: removed, ms: Math.round(performance.now() - started) };
    if (removed > 0) logger.info(pass, 'retention deleted raw readings past the period');
    return pass;
  }

  return {
    floorAt,
    runOnce,
    deletedTotal: () => deleted,
    start() {
      if (config.rawDays <= 0 || running) return;
      running = (async () => {
        while (!stopped) {
          await runOnce().catch((err: unknown) => {
            // A failed pass deletes nothing it did not commit; the next pass picks up where it stopped.
            if (!stopped) logger.warn({ err }, 'retention pass failed; retried at the next interval');
          });
          // An interrupt is not remembered: a stop() during the pass must not leave this to sleep an hour.
          if (!stopped) await sleep.sleep(intervalMs);
        }
      })();
    },
    async stop() {
      stopped = true;
      sleep.interrupt();
      await running;
    },
  };
}
