/** The shapes of the API answers the control room reads (see api/routes/api/**). */

// The alarm vocabulary and its JSON come from core (one definition for server, wire and UI).
import type {
  AlarmEventJson, AlarmJson, AlarmWithTimelineJson, IncidentEventJson, IncidentJson, IncidentMemberJson, IncidentWithTimelineJson, ProposalJson,
  TimelineEntryJson,
} from '../../../core/alarms.js';

export { incidentLevelRank, isActive, severities, severityRank, type AlarmStatus, type Hazard, type IncidentLevel, type Severity } from '../../../core/alarms.js';
export type Alarm = AlarmJson;
export type TimelineEntry = TimelineEntryJson;
export type AlarmWithTimeline = AlarmWithTimelineJson;
export type AlarmEvent = AlarmEventJson;
export type Incident = IncidentJson;
export type IncidentWithTimeline = IncidentWithTimelineJson;
export type IncidentMember = IncidentMemberJson;
export type IncidentEvent = IncidentEventJson;
export type Proposal = ProposalJson;

// Roles, pages and the site screens' answers are core's too: the API validates its answers with the same schemas.
import type { Role } from '../../../core/roles.js';
import type { Roster } from '../../../core/roster.js';
import type { ConnectivityJson, ConsumptionSeriesJson, DeviceCountsJson, SiteConsumptionJson, SiteOverviewJson } from '../../../core/site-views.js';
export { roleAtLeast, roleRank, roles, type Role } from '../../../core/roles.js';
export type { Page } from '../../../core/page.js';

/** `GET /api/session`: who is signed in. `role` is the highest held anywhere; `grants` say where (a token's: every site). */
export interface Session {
  tokenId: string; name: string; displayName?: string; role: Role;
  grants?: Array<{ role: Role; sites: '*' | string[] }>; sites?: '*' | string[];
}
export interface Site { id: string; name: string; timezone: string; address?: string }
/** `GET /api/sites/{id}/people`: someone who may be named at the site, with their role there. */
export interface SitePerson { id: string; displayName: string; role: Role }
/** `GET /api/sites/{id}/roster`: the current version of a site's on-call roster (core/roster.ts). */
export interface StoredRoster { site: string; version: number; updatedAt: string; updatedBy: string; roster: Roster }
export type { Roster, RosterException, Shift } from '../../../core/roster.js';
export interface Building { id: string; site: string; name: string; floors?: number }

export interface Device {
  id: string; kind: string; site: string; building: string; name: string; location?: string;
  category?: BinCategory; purpose?: string; rated_current?: number; q3?: number; parent?: string; createdAt: string;
}
export interface Latest { device: string; kind: string; site: string; building: string; category?: string; ts: string; seq?: number;
  fields: Record<string, number | boolean> }
export interface Series { device: string; kind: string; from: string; to: string; every?: number;
  items: Array<{ ts: string; values: Record<string, number | boolean | null> }> }

export type BinCategory = 'recyclable' | 'kitchen' | 'hazardous' | 'residual';
export type Presence = ConnectivityJson;
export type DeviceCounts = DeviceCountsJson;
export type Overview = SiteOverviewJson;
export type ConsumptionSeries = ConsumptionSeriesJson;
export type Consumption = SiteConsumptionJson;
