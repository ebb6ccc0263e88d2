import type { Device } from '../core/index.js';
import { severities, type Alarm, type AlarmStore, type Severity } from '../storage/alarms/contract.js';
import type { Incident, IncidentStore } from '../storage/incidents/contract.js';
import type { TelemetryStore } from '../storage/contract.js';
import type { DetectorBattery, FireSafetyReport, ReportPeriod, ReportSite, ResolvedReportsConfig } from './contracts.js';

/**
 * Fire-safety performance over a period, from the alarm history and detector telemetry.
 * - Alarms counted are those raised (startTs) in the period; mean time to acknowledge / to clear
 *   over those that were.
 * - Nuisance alarm: NFPA 72 (2019) §3.3.307 defines a nuisance alarm as an unwanted alarm from a
 *   condition that is not a hazard (cooking fumes, steam, dust). The platform cannot see the cause;
 *   its operational proxy: an alarm (not offline, not battery) that cleared by itself within `nuisanceMinutes`
 *   (default 5) and was never acknowledged — a condition that went away before anyone had to act.
 * - Test activations: smoke-detector readings with `test: true` (the test button: logged, never
 *   notified), counted as rising edges.
 * - Offline hours: durations of `offline` alarms within the period (open ones up to now/the end).
 * - Battery: detectors whose latest reported battery is ≤ `batteryLowPct` (default 20 %); a latest
 *   reading without a battery value (alarm-only messages) falls back to the last one that had it.
 * - Scope: alarms raised by the site's smoke detectors (smoke, heat, CO, battery, offline …) and
 *   the fire alarms of other origins (`fireAlarmTypes`: a building's combined fire risk, a fire in a
 *   bin). A bin overflow, water leak or overcurrent is not a fire-safety event; offline hours are the
 *   detectors' only.
 * - Incidents (when an incident store is given): those opened in the period, as the control room
 *   worked them — one per building and hazard, however many alarms — fire incidents split into
 *   confirmed fires (火警: two independent signals, GB 50116-2013 §4.1.6) and pre-alarms that were
 *   never confirmed (预警), electrical ones, and the mean time to acknowledge an incident.
 */
export const fireAlarmTypes: readonly string[] = ['fire_risk', 'bin_fire'];
async function alarmsIn(alarms: AlarmStore, site: string, from: number, to: number): Promise<Alarm[]> {
  const out: Alarm[] = [];
  const limit = 500;
  for (let offset = 0; ; offset += limit) {
    const page = await alarms.list({ site, limit, offset });
    for (const a of page.items) if (a.startTs < to && (a.startTs >= from || (a.type === 'offline' && (a.clearTs ?? Infinity) > from))) out.push(a);
    const last = page.items[page.items.length - 1];
    // Newest startTs first: past `from` only long offline alarms can still matter; stop at the end.
    if (page.items.length < limit || !last || offset + limit >= page.total) break;
  }
  return out;
}

const round = (x: number): number => Math.round(x * 100) / 100;

async function incidentsIn(store: Pick<IncidentStore, 'list'>, site: string, from: number, to: number): Promise<Incident[]> {
  const out: Incident[] = [];
  for (let offset = 0; ; offset += 500) {
    const page = await store.list({ site, hazard: ['fire', 'electrical'], limit: 500, offset });
    for (const i of page.items) if (i.startTs >= from && i.startTs < to) out.push(i);
    const last = page.items[page.items.length - 1];
    // Newest first: past `from`, nothing later can be in the period.
    if (page.items.length < 500 || !last || last.startTs < from) break;
  }
  return out;
}

export async function fireSafetyReport(
  store: TelemetryStore, alarmStore: AlarmStore, cfg: ResolvedReportsConfig,
  input: { site: ReportSite; period: ReportPeriod; devices: readonly Device[]; now: number; incidents?: Pick<IncidentStore, 'list'> },
): Promise<FireSafetyReport> {
  const { site, period } = input;
  const detectors = input.devices.filter((d) => d.site === site.id && d.kind === 'smoke_detector');
  const detectorIds = new Set(detectors.map((d) => d.id));
  const all = (await alarmsIn(alarmStore, site.id, period.from, period.to))
    .filter((a) => (a.originator.kind === 'device' && detectorIds.has(a.originator.id)) || fireAlarmTypes.includes(a.type));
  const raised = all.filter((a) => a.startTs >= period.from);
  const byType: Record<string, number> = {};
  const bySeverity = Object.fromEntries(severities.map((s) => [s, 0])) as Record<Severity, number>;
  const pairs = new Map<string, { type: string; severity: Severity; count: number }>();
  for (const a of raised) {
    byType[a.type] = (byType[a.type] ?? 0) + 1;
    bySeverity[a.severity] += 1;
    const k = `${a.type}/${a.severity}`;
    const e = pairs.get(k) ?? { type: a.type, severity: a.severity, count: 0 };
    e.count += 1;
    pairs.set(k, e);
  }
  const acked = raised.filter((a) => a.ackTs !== undefined);
  const cleared = raised.filter((a) => a.clearTs !== undefined);
  const meanMin = (xs: readonly number[]) => (xs.length > 0 ? round(xs.reduce((s, x) => s + x, 0) / xs.length / 60_000) : null);
  const nuisanceMs = cfg.nuisanceMinutes * 60_000;
  const nuisance = raised.filter((a) => a.type !== 'offline' && a.type !== 'battery' && a.ackTs === undefined && a.clearTs !== undefined && a.clearTs - a.startTs < nuisanceMs);

  const offline = all.filter((a) => a.type === 'offline' && a.originator.kind === 'device' && detectorIds.has(a.originator.id));
  const offlineBy = new Map<string, number>();
  for (const a of offline) {
    const end = Math.min(a.clearTs ?? input.now, period.to);
    const ms = Math.max(0, end - Math.max(a.startTs, period.from));
    offlineBy.set(a.originator.id, (offlineBy.get(a.originator.id) ?? 0) + ms);
  }

  const testPoints = await store.series({ kind: 'smoke_detector', site: site.id, from: period.from, to: period.to, fields: ['test'] });
  let tests = 0;
  const testDevices = new Set<string>();
  const lastTest = new Map<string, boolean>();
  for (const p of testPoints.sort((a, b) => a.ts - b.ts)) {
    const on = p.values.test === true || p.values.test === 1;
    if (on && !lastTest.get(p.device)) { tests += 1; testDevices.add(p.device); }
    lastTest.set(p.device, on);
  }
  const batteryLow: DetectorBattery[] = [];
  for (const d of detectors) {
    const latest = await store.latest(d.id);
    if (!latest) continue;
    let b = latest.fields.battery;
    let ts = latest.ts;
    if (typeof b !== 'number') {
      // Alarm-only messages carry no battery: the last reading in the day before that did.
      const recent = await store.series({ kind: 'smoke_detector', device: d.id, from: latest.ts - 86_400_000, to: latest.ts + 1, fields: ['battery'] });
      const last = [...recent].reverse().find((p) => typeof p.values.battery === 'number');
      if (last) { b = last.values.battery as number; ts = last.ts; }
    }
    if (typeof b === 'number' && b <= cfg.batteryLowPct) batteryLow.push({ device: d.id, building: d.building, ...(d.location ? { location: d.location } : {}), battery: b, ts });
  }
  batteryLow.sort((a, b) => a.battery - b.battery);
  let incidents: FireSafetyReport['incidents'];
  if (input.incidents) {
    const opened = await incidentsIn(input.incidents, site.id, period.from, period.to);
    const fire = opened.filter((i) => i.hazard === 'fire');
    const ackedIncidents = opened.filter((i) => i.ackTs !== undefined);
    incidents = {
      fire: fire.length, confirmedFires: fire.filter((i) => i.level === 'fire').length, preAlarmsOnly: fire.filter((i) => i.level === 'pre_alarm').length,
      electrical: opened.filter((i) => i.hazard === 'electrical').length,
      meanTimeToAckMin: meanMin(ackedIncidents.map((i) => (i.ackTs as number) - i.startTs)),
    };
  }
  return {
    type: 'fire_safety', generatedAt: input.now, site, period, warnings: [],
    alarms: { total: raised.length, byType, bySeverity, byTypeAndSeverity: [...pairs.values()] },
    response: {
      meanTimeToAckMin: meanMin(acked.map((a) => (a.ackTs as number) - a.startTs)),
      meanTimeToClearMin: meanMin(cleared.map((a) => (a.clearTs as number) - a.startTs)),
      acknowledged: acked.length, cleared: cleared.length,
    },
    nuisance: { count: nuisance.length, thresholdMinutes: cfg.nuisanceMinutes, definition: `cleared within ${cfg.nuisanceMinutes} min without acknowledgement (proxy for NFPA 72 §3.3 "nuisance alarm")` },
    tests: { count: tests, devices: testDevices.size },
    offline: {
      hours: round([...offlineBy.values()].reduce((s, x) => s + x, 0) / 3_600_000), incidents: offline.length,
      byDevice: [...offlineBy].map(([device, ms]) => ({ device, hours: round(ms / 3_600_000) })).sort((a, b) => b.hours - a.hours),
    },
    batteryLow: { thresholdPct: cfg.batteryLowPct, detectors: batteryLow },
    ...(incidents ? { incidents } : {}),
  };
}
