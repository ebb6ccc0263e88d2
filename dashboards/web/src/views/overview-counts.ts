import { isActive, severityRank, type AlarmEvent, type Overview, type Severity } from '../types.js';

/**
 * Paints a live alarm event onto the overview's counts at once (the debounced re-fetch brings the
 * exact ones): a raise adds to its building's and the site's counts, a raise or escalation may make
 * the building's worst severity worse. The counts already include every event up to `alarms.seq` —
 * the overview's own, then each one painted — so an event replayed after a reconnect, or raised just
 * before the overview was read, is never added twice. Returns whether anything was painted.
 */
export function paintAlarmEvent(data: Overview, siteId: string, e: AlarmEvent): boolean {
  if (e.alarm.site !== siteId || !isActive(e.alarm.status) || e.seq <= data.alarms.seq) return false;
  data.alarms.seq = e.seq;
  const b = data.buildings.find((x) => x.id === e.alarm.building);
  if (!b) return false;
  const sev: Severity = e.alarm.severity;
  if (e.type === 'raised') {
    b.activeAlarms += 1;
    data.alarms.active += 1;
    data.alarms.bySeverity[sev] = (data.alarms.bySeverity[sev] ?? 0) + 1;
  }
  if (!b.worst || severityRank[sev] > severityRank[b.worst]) b.worst = sev;
  return true;
}
