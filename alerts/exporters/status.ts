import { severities, type Device, type Severity, type Reading } from '../../core/index.js';
import { connectivityOf } from '../connectivity.js';
import type { Alarm } from '../contracts.js';

/**
 * The fleet status of each site and building at one instant, as the alerts engine sees it.
 *
 * - Active alarms: the engine's in-memory view (`active()`), by severity; `unacked` = `active_unack`.
 * - Devices online / offline / never reported: alerts/connectivity.ts, the definition the built-in
 *   control room shows too (offline = an active offline-rule alarm; never = no alarm and no reading
 *   yet). The three add up to the total.
 *
 * Buildings come from the registry (every building with a device) and from active alarms (a
 * building-level alarm of a building without devices still shows).
 */
export interface StatusRow {
  readonly site: string;
  readonly building: string;
  alarmsActive: number;
  alarmsUnacked: number;
  readonly bySeverity: Record<Severity, number>;
  devicesTotal: number;
  devicesOnline: number;
  devicesOffline: number;
  devicesNeverReported: number;
}

export interface StatusSources {
  devices: readonly Device[];
  active: readonly Alarm[];
  /** The latest reading of a device, undefined if it never reported (LatestCache.get). */
  latest(device: string): Reading | undefined;
}

export function fleetStatus(src: StatusSources): StatusRow[] {
  const rows = new Map<string, StatusRow>();
  const row = (site: string, building: string): StatusRow => {
    const key = `${site}\u0000${building}`;
    let r = rows.get(key);
    if (!r) {
      r = {
        site, building, alarmsActive: 0, alarmsUnacked: 0, bySeverity: Object.fromEntries(severities.map((s) => [s, 0])) as Record<Severity, number>,
        devicesTotal: 0, devicesOnline: 0, devicesOffline: 0, devicesNeverReported: 0,
      };
      rows.set(key, r);
    }
    return r;
  };

  for (const a of src.active) {
    const r = row(a.site, a.building);
    r.alarmsActive += 1;
    if (a.status === 'active_unack') r.alarmsUnacked += 1;
    r.bySeverity[a.severity] += 1;
  }
  const connectivity = connectivityOf(src.active, (id) => src.latest(id) !== undefined);
  for (const d of src.devices) {
    const r = row(d.site, d.building);
    r.devicesTotal += 1;
    const c = connectivity(d.id);
    if (c === 'offline') r.devicesOffline += 1;
    else if (c === 'never') r.devicesNeverReported += 1;
    else r.devicesOnline += 1;
  }
  return [...rows.values()].sort((a, b) => (a.site + a.building < b.site + b.building ? -1 : 1));
}
