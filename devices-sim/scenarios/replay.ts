import { kindOf, type Device, type KindName, type KindPayload } from '../../core/index.js';
import { createProfiles } from '../kinds/index.js';
import { playScenarios, scenarioInterval, type Scenario } from './contract.js';
import { parseScenarioFile } from './file.js';

/**
 * Replay: the readings a fleet would publish under a set of scenarios, computed without MQTT, in
 * time order. The same profiles (seed, device id streams), the same combination rules
 * (`playScenarios`) and the same interval rule (`scenarioInterval`) as the fleet, minus the
 * network's jitter: each device reports at `start`, then every interval. This is how tests feed
 * the alerts engine the exact shapes `anju sim --scenario-file` would send.
 */
export interface ReplayOptions {
  seed: number;
  /** Simulated epoch ms of the first report; offsets in a scenario file count from here. */
  start: number;
  /** Normal interval between two reports of a device, for every kind or per kind (default: the device's `report_interval_s`, else its kind's). */
  stepMs?: number | ((kind: KindName) => number);
  /** Reports strictly before `start + durationMs` are produced. */
  durationMs: number;
  utcOffsetMin?: number;
}

export interface ScenarioMessage {
  readonly device: string;
  readonly kind: KindName;
  readonly ts: number;
  /** What the device meant to report (after every scenario applied). */
  readonly payload: KindPayload;
  /** Present when the device published this raw body instead of the payload's JSON (garbage). */
  readonly raw?: string;
}

export function scenarioReadings(file: string | readonly Scenario[], registry: readonly Device[], options: ReplayOptions): ScenarioMessage[] {
  const scenarios = typeof file === 'string' ? parseScenarioFile(file, options.start) : file;
  const end = options.start + options.durationMs;
  const normal = (device: Device) => {
    const s = options.stepMs;
    return typeof s === 'function' ? s(device.kind) : (s ?? (device.report_interval_s ?? kindOf(device.kind).reportingIntervalS) * 1000);
  };
  const profiles = createProfiles(registry, { seed: options.seed, start: options.start, utcOffsetMin: options.utcOffsetMin });
  const due = registry.map((device) => ({ device, at: options.start }));
  const out: ScenarioMessage[] = [];
  // Always advance the device that is due first (ties by id): linked profiles (a master meter
  // summing its households) must be asked in time order, as the fleet asks them.
  for (;;) {
    let next: (typeof due)[number] | undefined;
    for (const d of due) if (d.at < end && (!next || d.at < next.at || (d.at === next.at && d.device.id < next.device.id))) next = d;
    if (!next) break;
    const { device, at } = next;
    const profile = profiles.get(device.id);
    if (!profile) throw new Error(`no profile for ${device.id}`);
    const outcome = playScenarios(scenarios, device, at, () => profile.next(at));
    if (outcome.type !== 'skip') {
      out.push({ device: device.id, kind: device.kind, ts: at, payload: outcome.payload, ...(outcome.type === 'raw' ? { raw: outcome.raw } : {}) });
    }
    next.at = at + Math.max(1, scenarioInterval(scenarios, device, at, normal(device)));
  }
  return out;
}
