import type { Device, KindPayload } from '../../core/index.js';

/**
 * A scenario bends the normal profile of the devices it targets from a start time on: a fire, a
 * leak, a detector going silent. It is a pure function of the elapsed time, so the same scenario
 * file replays the same readings (the alerts scenarios can be fed from it).
 */
export interface Scenario {
  readonly name: string;
  /** Simulated epoch ms at which it begins. */
  readonly startAt: number;
  appliesTo(device: Device): boolean;
  /** The payload the device reports `elapsedMs` into the scenario, from its normal one. */
  apply(payload: KindPayload, elapsedMs: number, device: Device): KindPayload;
  /** While active, devices it applies to report this often (a detector in alarm reports at once). */
  readonly intervalMs?: number;
}

/** How a scenario kind is built from its target (a device id or a building id) and start. */
export type ScenarioFactory = (target: string, startAt: number) => Scenario;
