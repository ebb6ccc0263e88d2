import type { BinCategory, Building, Device, KindName, Site } from '../../core/index.js';
import { connectivityOf, type Connectivity } from '../../alerts/connectivity.js';
import { severities, severityRank, type Alarm, type Severity } from '../../storage/alarms/contract.js';
import type { LatestCache } from '../../storage/contract.js';

/**
 * What the control room's overview shows for one site, computed from memory (device directory,
 * latest cache, the engine's active alarms): no store query, so it is cheap enough to answer on
 * every alarm event.
 *
 * Connectivity follows the alerts engine (alerts/connectivity.ts, the definition Grafana's fleet
 * status shows too): an active `offline` alarm is offline; no reading yet is `never`; else online.
 */

export interface DeviceCounts {
  total: number;
  online: number;
  offline: number;
  never: number;
}

export interface SiteOverview {
  readonly site: { id: string; name: string; timezone: string };
  readonly generatedAt: number;
  /** `seq`: the last alarm event these counts include (a client painting live events adds only later ones). */
  readonly alarms: { active: number; bySeverity: Record<Severity, number>; seq: number };
  readonly devices: DeviceCounts & { byKind: Partial<Record<KindName, DeviceCounts>> };
  readonly buildings: {
    id: string;
    name: string;
    floors?: number;
    worst: Severity | null;
    activeAlarms: number;
    devices: DeviceCounts;
  }[];
  /** Per sorting category: bins, bins that reported a fill, their mean fill (%). */
  readonly binStats: Partial<Record<BinCategory, { total: number; reporting: number; meanFill: number | null }>>;
  /** The fullest `binLimit` bins, fullest first; `binsTotal` says how many there are. */
  readonly binsTotal: number;
  readonly bins: {
    id: string;
    name: string;
    building: string;
    category: BinCategory | null;
    fill: number | null;
    ts: number | null;
    online: Connectivity;
  }[];
}

const zero = (): DeviceCounts => ({ total: 0, online: 0, offline: 0, never: 0 });

export interface SiteOverviewInput {
  readonly site: Site;
  readonly buildings: readonly Building[];
  readonly devices: readonly Device[];
  readonly latest: Pick<LatestCache, 'get'>;
  readonly activeAlarms: readonly Alarm[];
  /** The last alarm event seq `activeAlarms` includes. */
  readonly alarmSeq?: number;
  readonly now: number;
  /** Most bins listed (fullest first). Default 100. */
  readonly binLimit?: number;
}

export function buildSiteOverview({ site, buildings, devices, latest, activeAlarms, alarmSeq = 0, now, binLimit = 100 }: SiteOverviewInput): SiteOverview {
  const alarms = activeAlarms.filter((a) => a.site === site.id);
  const connectivityOfDevice = connectivityOf(alarms, (id) => latest.get(id) !== undefined);
  const connectivity = (d: Device): Connectivity => connectivityOfDevice(d.id);

  const bySeverity = Object.fromEntries(severities.map((s) => [s, 0])) as Record<Severity, number>;
  for (const a of alarms) bySeverity[a.severity] += 1;

  const perBuilding = new Map<string, { worst: Severity | null; activeAlarms: number; devices: DeviceCounts }>();
  const entry = (id: string) => {
    let e = perBuilding.get(id);
    if (!e) perBuilding.set(id, (e = { worst: null, activeAlarms: 0, devices: zero() }));
    return e;
  };
  for (const a of alarms) {
    const e = entry(a.building);
    e.activeAlarms += 1;
    if (!e.worst || severityRank[a.severity] > severityRank[e.worst]) e.worst = a.severity;
  }

  const total = zero();
  const byKind: Partial<Record<KindName, DeviceCounts>> = {};
  const bins: SiteOverview['bins'] = [];
  for (const d of devices) {
    if (d.site !== site.id) continue;
    const c = connectivity(d);
    for (const counts of [total, (byKind[d.kind] ??= zero()), entry(d.building).devices]) {
      counts.total += 1;
      counts[c] += 1;
    }
    if (d.kind === 'smart_bin') {
      const r = latest.get(d.id);
      const fill = r?.fields.fill;
      bins.push({
        id: d.id, name: d.name, building: d.building, category: d.category ?? null,
        fill: typeof fill === 'number' ? fill : null, ts: r?.ts ?? null, online: c,
      });
    }
  }
  const binStats: SiteOverview['binStats'] = {};
  const fillSums = new Map<string, number>();
  for (const b of bins) {
    const key = b.category ?? 'residual';
    const st = (binStats[key] ??= { total: 0, reporting: 0, meanFill: null });
    st.total += 1;
    if (b.fill !== null) {
      st.reporting += 1;
      fillSums.set(key, (fillSums.get(key) ?? 0) + b.fill);
    }
  }
  for (const [key, st] of Object.entries(binStats)) if (st.reporting > 0) st.meanFill = (fillSums.get(key) ?? 0) / st.reporting;
  // Fullest first: the bins a crew should empty next lead the list.
  bins.sort((a, b) => (b.fill ?? -1) - (a.fill ?? -1) || a.id.localeCompare(b.id));

  const known = new Set(buildings.map((b) => b.id));
  const listed = [...buildings.map((b) => ({ id: b.id, name: b.name, floors: b.floors })),
    // A building that only devices or alarms mention still gets a tile.
    ...[...perBuilding.keys()].filter((id) => !known.has(id)).sort().map((id) => ({ id, name: id, floors: undefined }))];

  return {
    site: { id: site.id, name: site.name, timezone: site.timezone },
    generatedAt: now,
    alarms: { active: alarms.length, bySeverity, seq: alarmSeq },
    devices: { ...total, byKind },
    buildings: listed.map((b) => {
      const e = perBuilding.get(b.id) ?? { worst: null, activeAlarms: 0, devices: zero() };
      return { id: b.id, name: b.name, ...(b.floors !== undefined ? { floors: b.floors } : {}), ...e };
    }),
    binStats,
    binsTotal: bins.length,
    bins: bins.slice(0, binLimit),
  };
}
