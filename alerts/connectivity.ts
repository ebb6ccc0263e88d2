import type { Alarm } from './contracts.js';
import { offlineRule } from './rules/offline.js';

/**
 * Whether a device is connected, as the alerts engine sees it — the one definition the control
 * room (api site overview) and Grafana (the fleet status exporter) both show:
 * - `offline`: the device has an active alarm of the offline rule (its LWT / status said offline,
 *   or it was silent for 3 reporting intervals: alerts/rules/offline.ts). This wins over the rest.
 * - `never`: no offline alarm and no reading ever (installed, not yet heard from; the offline rule
 *   raises an alarm for it once its grace of 3 intervals has passed).
 * - `online`: anything else.
 */
export type Connectivity = 'online' | 'offline' | 'never';

const offlineTypes: ReadonlySet<string> = new Set(offlineRule.alarmTypes);

/** Builds the classifier from the engine's active alarms; `hasReported` is "the latest cache has a reading". */
export function connectivityOf(active: readonly Alarm[], hasReported: (device: string) => boolean): (device: string) => Connectivity {
  const offline = new Set(active.filter((a) => a.originator.kind === 'device' && offlineTypes.has(a.type)).map((a) => a.originator.id));
  return (device) => (offline.has(device) ? 'offline' : hasReported(device) ? 'online' : 'never');
}
