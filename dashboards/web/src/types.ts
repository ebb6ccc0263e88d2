/** The shapes of the API answers the control room reads (see api/routes/api/**). */

export const severities = ['critical', 'major', 'minor', 'warning'] as const;
export type Severity = (typeof severities)[number];
export const severityRank: Readonly<Record<Severity, number>> = { warning: 1, minor: 2, major: 3, critical: 4 };

export const roles = ['viewer', 'maintenance', 'operator', 'admin'] as const;
export type Role = (typeof roles)[number];

export type AlarmStatus = 'active_unack' | 'active_ack' | 'cleared_unack' | 'cleared_ack';
export const isActive = (s: AlarmStatus): boolean => s === 'active_unack' || s === 'active_ack';

export interface Session { tokenId: string; name: string; role: Role }
export interface Site { id: string; name: string; timezone: string; address?: string }
export interface Building { id: string; site: string; name: string; floors?: number }
export interface Page<T> { items: T[]; total: number }

export interface Alarm {
  id: string;
  type: string;
  originator: { kind: 'device' | 'building'; id: string };
  site: string;
  building: string;
  severity: Severity;
  status: AlarmStatus;
  startTime: string;
  lastUpdateTime: string;
  ackTime?: string;
  clearTime?: string;
  assignee?: string;
  escalationLevel: number;
  count: number;
  details: Record<string, unknown>;
}
export interface TimelineEntry { time: string; event: string; actor?: string; text?: string; details?: Record<string, unknown> }
export interface AlarmWithTimeline extends Alarm { timeline: TimelineEntry[] }
export interface AlarmEvent { seq: number; time: string; type: string; previousSeverity?: Severity; reminder?: number; alarm: Alarm }

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
