import type { BinCategory, Device, KindName, KindPayload, MeterPurpose } from '../../core/index.js';

/**
 * A scenario bends the normal profile of the devices it targets from a start time on: a fire, a
 * leak, a detector going silent. It is a pure function of the elapsed time (and of the payload the
 * device would have sent), so the same scenario file replays the same readings: the fleet publishes
 * them over MQTT, `scenarioReadings` hands them to a test or the alerts engine without a broker.
 *
 * After `endAt` a scenario keeps being applied: it is its job to hand back a payload that is
 * consistent with what went before (a meter's register keeps the water the burst pipe drew).
 */
export interface Scenario {
  readonly name: string;
  /** Simulated epoch ms at which it begins. */
  readonly startAt: number;
  /** Simulated epoch ms at which the event is over (fire out, pipe repaired); absent: it lasts. */
  readonly endAt?: number;
  appliesTo(device: Device): boolean;
  /** The payload the device reports `elapsedMs` into the scenario, from its normal one. */
  apply(payload: KindPayload, elapsedMs: number, device: Device): KindPayload;
  /** While active (start ≤ now < endAt), devices it applies to report this often (a detector in alarm reports at once). */
  readonly intervalMs?: number;
  /** True while the device must publish nothing at all (a dead detector): the fleet skips the tick. */
  suppress?(elapsedMs: number, device: Device): boolean;
  /**
   * A raw message body to publish instead of the JSON of `payload` (a device sending garbage), or
   * undefined to publish the payload as usual.
   */
  raw?(elapsedMs: number, device: Device, payload: KindPayload): string | undefined;
}

/** Narrows a scenario to some of the devices its target holds. */
export interface ScenarioFilter {
  readonly kind?: KindName;
  readonly purpose?: MeterPurpose;
  readonly category?: BinCategory;
}

export interface ScenarioOptions {
  /** How long the event lasts before it is over (each scenario documents its default). */
  readonly durationMs?: number;
  readonly filter?: ScenarioFilter;
  /** Scenario-specific numbers (each scenario documents the ones it reads), e.g. `{ lpm: 0.4 }`. */
  readonly params?: Readonly<Record<string, number>>;
}

/**
 * How a scenario kind is built from its target (a device id, a building id or a site id), its
 * start and options. `(target, startAt)` alone gives the documented defaults.
 */
export type ScenarioFactory = (target: string, startAt: number, options?: ScenarioOptions) => Scenario;

/** What one device publishes at one tick once every scenario has had its say. */
export type ScenarioOutcome =
  | { readonly type: 'skip' }
  | { readonly type: 'payload'; readonly payload: KindPayload }
  | { readonly type: 'raw'; readonly raw: string; readonly payload: KindPayload };

/**
 * The one place the rules of combining scenarios live, used by the fleet and by replay alike:
 * any active `suppress` skips the tick; otherwise every started scenario applies in order, and the
 * first `raw` body wins. `next` is called only when something is published.
 */
export function playScenarios(scenarios: readonly Scenario[], device: Device, now: number, next: () => KindPayload): ScenarioOutcome {
  const started = scenarios.filter((s) => now >= s.startAt && s.appliesTo(device));
  if (started.some((s) => s.suppress?.(now - s.startAt, device) === true)) return { type: 'skip' };
  let payload = next();
  for (const s of started) payload = s.apply(payload, now - s.startAt, device);
  for (const s of started) {
    const raw = s.raw?.(now - s.startAt, device, payload);
    if (raw !== undefined) return { type: 'raw', raw, payload };
  }
  return { type: 'payload', payload };
}

/**
 * The delay until the device's next report after `now`: the shortest `intervalMs` of the scenarios
 * active on it, and never past the start of one that is about to begin with an `intervalMs` — a
 * detector reports the moment it senses a fire, not at its next heartbeat.
 */
export function scenarioInterval(scenarios: readonly Scenario[], device: Device, now: number, normalMs: number): number {
  let interval = normalMs;
  for (const s of scenarios) {
    if (s.intervalMs === undefined || (s.endAt !== undefined && now >= s.endAt) || !s.appliesTo(device)) continue;
    interval = Math.min(interval, now < s.startAt ? s.startAt - now : s.intervalMs);
  }
  return interval;
}
