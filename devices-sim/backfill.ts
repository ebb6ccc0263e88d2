import type { Logger } from 'pino';
import type { Device, FieldValue, KindName, KindPayload, Reading } from '../core/index.js';
import { createProfiles, type Profile } from './kinds/index.js';
import { CATCH_UP_STEP_MS, catchUpProfiles } from './catch-up.js';
import { retrofitSteps, type Retrofit } from './retrofit.js';
import { playScenarios, type Scenario } from './scenarios/contract.js';

/**
 * Backfill (`anju sim backfill --days 400`): a year of history straight into the configured store
 * (any TelemetryStore fits `ReadingSink`; the CLI passes it, devices-sim imports only core), so reports and dashboards have something to show within
 * minutes. The same profiles as the live simulator (same seed → same data), stepped on a fixed
 * grid, written in batches with one write in flight while the next batch is computed. The store's
 * idempotent write makes a rerun over the same period safe (it overwrites, never duplicates).
 */
export interface BackfillConfig {
  days: number;
  /** End of the period (exclusive), epoch ms; default the clock, rounded down to the step. */
  end?: number;
  /** Reporting step of every device, ms (default 15 min: the resolution of interval meter data). */
  stepMs?: number;
  /** Coarser steps per kind (multiples of `stepMs`), e.g. `{ smoke_detector: 3_600_000 }`. */
  kindStepMs?: Partial<Record<KindName, number>>;
  seed: number;
  retrofits?: readonly Retrofit[];
  /** Readings per store write (default 5,000). */
  batchSize?: number;
  /** Scenarios during the period (a silent detector stores nothing; garbage is refused, as ingest would). */
  scenarios?: readonly Scenario[];
  utcOffsetMin?: number;
  /**
   * Write only from this instant on (a multiple of the step after the start): before it the
   * profiles are stepped an hour at a time without writing, so the registers arrive where a full
   * backfill would have them. Lets the most recent part of a long history be written first.
   */
  writeFrom?: number;
}

/** Where the readings go: the TelemetryStore's `write` (idempotent per device and time). */
export interface ReadingSink {
  write(batch: readonly Reading[]): Promise<void>;
}

export interface BackfillDeps {
  store: ReadingSink;
  devices: readonly Device[];
  logger: Logger;
  onProgress?: (done: number, total: number) => void;
  clock?: () => number;
  /** Stops the backfill between two batches (it then rejects with the signal's reason); what was written stays. */
  signal?: AbortSignal;
  /**
   * Given the profiles once every reading is computed, with the instant of their last step: a live
   * fleet in the same process continues them (FleetConfig.continueFrom) instead of stepping its own
   * copies through the same history again — a long history costs its catch-up once, not twice.
   */
  handOver?: (profiles: ReadonlyMap<string, Profile>, steppedTo: number) => void;
  /** Before `writeFrom`: how far the profiles are caught up (epoch ms), now and then. */
  onCatchUp?: (caughtUpTo: number, writeFrom: number) => void;
}

export interface BackfillResult {
  readings: number;
  batches: number;
  from: number;
  to: number;
  ms: number;
  /** Readings per second, end to end. */
  rate: number;
}

export const DEFAULT_BACKFILL_STEP_MS = 15 * 60_000;
const DAY = 86_400_000;

function toReading(device: Device, ts: number, payload: KindPayload): Reading {
  const fields: Record<string, FieldValue> = {};
  for (const [k, v] of Object.entries(payload)) if (k !== 'ts' && k !== 'seq' && v !== undefined) fields[k] = v;
  return {
    device: device.id, kind: device.kind, site: device.site, building: device.building,
    ...(device.category ? { category: device.category } : {}),
    ts, ...(payload.seq !== undefined ? { seq: payload.seq } : {}), fields,
  };
}

export async function runBackfill(config: BackfillConfig, deps: BackfillDeps): Promise<BackfillResult> {
  const step = config.stepMs ?? DEFAULT_BACKFILL_STEP_MS;
  const batchSize = config.batchSize ?? 5_000;
  if (!(config.days > 0) || !Number.isFinite(config.days)) throw new Error('backfill: days must be a positive number');
  if (!(Number.isInteger(step) && step >= 1_000)) throw new Error('backfill: stepMs must be an integer ≥ 1000');
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error('backfill: batchSize must be a positive integer');
  const stepOf = (kind: KindName): number => {
    const s = config.kindStepMs?.[kind] ?? step;
    if (!(s >= step && s % step === 0)) throw new Error(`backfill: the step of ${kind} (${s} ms) must be a multiple of stepMs (${step} ms)`);
    return s;
  };
  const to = Math.floor((config.end ?? (deps.clock ?? Date.now)()) / step) * step;
  const from = to - Math.round(config.days * DAY / step) * step;
  const devices = deps.devices.map((device) => ({ device, every: stepOf(device.kind) }));
  const retrofits = config.retrofits ?? [];
  const profiles = createProfiles(devices.map((d) => d.device), {
    seed: config.seed, start: from, utcOffsetMin: config.utcOffsetMin, scaleFor: (d) => retrofitSteps(retrofits, d),
  });
  const scenarios = config.scenarios ?? [];
  // Before writeFrom: caught up, not written.
  const writeFrom = Math.min(to, Math.max(from, Math.floor((config.writeFrom ?? from) / step) * step));
  await catchUpProfiles(profiles.values(), from, writeFrom, {
    stepMs: Math.max(step, Math.floor(CATCH_UP_STEP_MS / step) * step), cancelled: () => deps.signal?.aborted === true,
    ...(deps.onCatchUp ? { onProgress: (t: number) => deps.onCatchUp?.(t, writeFrom) } : {}),
  });
  deps.signal?.throwIfAborted();
  const total = devices.reduce((sum, d) => sum + Math.ceil((to - writeFrom) / d.every), 0);
  deps.logger.info({ devices: devices.length, from: new Date(from).toISOString(), to: new Date(to).toISOString(), stepMs: step, total, retrofits: retrofits.map((r) => r.name ?? r.purpose ?? r.field) }, 'backfill starting');

  const started = performance.now();
  let done = 0;
  let batches = 0;
  let stored = 0;
  let inFlight: Promise<void> | undefined;
  let batch: Reading[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const out = batch;
    batch = [];
    // One write in flight: DuckDB and InfluxDB work off the JS thread while the next batch is built.
    await inFlight;
    inFlight = deps.store.write(out).then(() => {
      batches += 1;
      stored += out.length;
      deps.onProgress?.(stored, total);
    });
  };

  for (let t = writeFrom; t < to; t += step) {
    for (const { device, every } of devices) {
      if ((t - from) % every !== 0) continue;
      done += 1;
      const profile = profiles.get(device.id) as Profile;
      const outcome = playScenarios(scenarios, device, t, () => profile.next(t));
      if (outcome.type === 'payload') batch.push(toReading(device, t, outcome.payload));
      if (batch.length >= batchSize) {
        if (deps.signal?.aborted) {
          // The write in flight finishes first: the caller may close the store once this rejects.
          await inFlight;
          deps.signal.throwIfAborted();
        }
        await flush();
      }
    }
  }
  await flush();
  await inFlight;
  deps.handOver?.(profiles, Math.max(writeFrom, to - step));
  const ms = performance.now() - started;
  const result = { readings: stored, batches, from: writeFrom, to, ms: Math.round(ms), rate: Math.round(stored / (ms / 1000)) };
  deps.logger.info({ ...result, generated: done }, 'backfill done');
  return result;
}
