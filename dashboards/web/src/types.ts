/** The shapes of the API answers the control room reads (see api/routes/api/**). */

// The alarm vocabulary and its JSON come from core (one definition for server, wire and UI).
import type {
  AlarmEventJson, AlarmJson, AlarmWithTimelineJson, IncidentEventJson, IncidentJson, IncidentMemberJson, Severity, TimelineEntryJson,
} from '../../../core/alarms.js';

export { incidentLevelRank, isActive, severities, severityRank, type AlarmStatus, type Hazard, type IncidentLevel, type Severity } from '../../../core/alarms.js';
export type Alarm = AlarmJson;
export type TimelineEntry = TimelineEntryJson;
export type AlarmWithTimeline = AlarmWithTimelineJson;
export type AlarmEvent = AlarmEventJson;
export type Incident = IncidentJson;
export type IncidentMember = IncidentMemberJson;
export type IncidentEvent = IncidentEventJson;

export const roles = ['viewer', 'maintenance', 'operator', 'admin'] as const;
export type Role = (typeof roles)[number];

export interface Session { tokenId: string; name: string; role: Role }
export interface Site { id: string; name: string; timezone: string; address?: string }
export interface Building { id: string; site: string; name: string; floors?: number }
export interface Page<T> { items: T[]; total: number }

export interface Device {
  id: string; kind: string; site: string; building: string; name: string; location?: string;
  category?: BinCategory; purpose?: string; rated_current?: number; q3?: number; parent?: string; createdAt: string;
}
export interface Latest { device: string; kind: string; site: string; building: string; category?: string; ts: string; seq?: number; fields: Record<string, number | boolean> }
export interface Series { device: string; kind: string; from: string; to: string; every?: number; items: Array<{ ts: string; values: Record<string, number | boolean | null> }> }

export type BinCategory = 'recyclable' | 'kitchen' | 'hazardous' | 'residual';
export type Presence = 'online' | 'offline' | 'never';
export interface DeviceCounts { total: number; online: number; offline: number; never: number }
export interface Overview {
  site: { id: string; name: string; timezone: string };
  generatedAt: string;
  alarms: { active: number; bySeverity: Record<Severity, number> };
  devices: DeviceCounts & { byKind: Record<string, DeviceCounts> };
  buildings: Array<{ id: string; name: string; floors?: number; worst: Severity | null; activeAlarms: number; devices: DeviceCounts }>;
  bins: Array<{ id: string; name?: string; building: string; category: BinCategory | null; fill: number | null; ts: string | null; online: Presence }>;
}

export interface ConsumptionSeries { unit: string; today: Array<number | null>; compare: Array<number | null>; totalToday: number; totalCompareSameHours: number; totalCompare: number }
export interface Consumption {
  site: string;
  timezone: string;
  date: string;
  compareDate: string;
  hours: string[];
  energy: ConsumptionSeries;
  water: ConsumptionSeries;
}
