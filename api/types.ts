import type { Logger } from 'pino';
import type { CommandService } from '../commands/index.js';
import type { Role } from '../core/index.js';
import type { Registry } from 'prom-client';
import type { AlertEngine } from '../alerts/engine.js';
import type { Incidents } from '../alerts/index.js';
import type { Alarm, AlarmEvent } from '../alerts/contracts.js';
import type { EventFeed } from '../alerts/event-feed.js';
import type { IncidentEvent } from '../storage/incidents/contract.js';
import type { Responder, ResponsePolicies } from '../alerts/responses/index.js';
import type { RejectLog } from '../ingest/contracts.js';
import type { Reports } from '../reports/index.js';
import type { ReportStore } from '../storage/index.js';
import type { LatestCache, TelemetryStore } from '../storage/contract.js';
import type { DeviceDirectory, StateStore } from '../storage/state/contract.js';
import type { ServiceAccountDirectory } from '../storage/service-accounts/directory.js';
import type { AccountStore } from '../storage/accounts/contract.js';
import type { AuditStore } from '../storage/audit/contract.js';
import type { RosterStore } from '../storage/rosters/contract.js';
import type { BackupStaging } from '../storage/backup/staging.js';

export type HealthStatus = 'ok' | 'degraded' | 'down';

/** What `/health` answers: 200 for ok and degraded, 503 for down. */
export interface HealthReport {
  readonly status: HealthStatus;
  readonly checks: Record<string, { readonly status: HealthStatus; readonly detail?: string }>;
}

/** Everything the API reads or writes, handed in by the composition root (cli/). */
export interface ApiDeps {
  readonly logger: Logger;
  readonly state: StateStore;
  readonly directory: DeviceDirectory;
  readonly telemetry: TelemetryStore;
  readonly latest: LatestCache;
  readonly rejects: RejectLog;
  readonly metrics: Registry;
  readonly health: () => Promise<HealthReport>;
  /** Clock, for tests; defaults to Date.now. */
  readonly now?: () => number;
  /** The alerts part; without it `/api/alerts` and `/api/rules` are not served (roles without alerts). */
  readonly alerts?: AlertsApiDeps;
  /** The reports part; without it `/api/reports` is not served. */
  readonly reports?: ReportsApiDeps;
  /** MQTT service accounts of the embedded broker; without them `/api/service-accounts` is not served. */
  readonly serviceAccounts?: ServiceAccountDirectory;
  /** People's accounts; without them `/api/accounts` is not served. */
  readonly accounts?: AccountStore;
  /** The audit trail: with it every change through the API is recorded and `/api/audit` is served. */
  readonly audit?: AuditStore;
  /** Sites' on-call rosters; with them (and accounts) `/api/sites/{id}/roster` and `/on-duty` are served. */
  readonly rosters?: RosterStore;
  /** Backups of the node's data dir; without them `/api/backups` is not served. */
  readonly backups?: BackupStaging;
  /** Commands to devices (needs the embedded broker); without them the command routes are not served. */
  readonly commands?: CommandsApiDeps;
  /** The running demo fleet; without it `/api/demo` is not served. */
  readonly demo?: DemoApiDeps;
  /** Incident response policies and proposals; without them `/api/responses` and the proposal actions are not served. */
  readonly responses?: ResponsesApiDeps;
}

/**
 * What the response routes use: the policies (read by anyone, replaced by an admin), and — with
 * the command dispatcher — the responder that confirms and rejects proposals, from `minRole` on
 * (ANJU_COMMAND_ROLE: a confirmation sends a command).
 */
export interface ResponsesApiDeps {
  readonly policies: Pick<ResponsePolicies, 'policyFor' | 'own' | 'put' | 'remove'>;
  readonly responder?: Pick<Responder, 'confirm' | 'reject'>;
  readonly minRole: Exclude<Role, 'viewer'>;
}

/** What the command routes use: the dispatcher, and the lowest role that may send (ANJU_COMMAND_ROLE). */
export interface CommandsApiDeps {
  readonly service: Pick<CommandService, 'send' | 'get' | 'list' | 'subscribe' | 'eventsSince'>;
  readonly minRole: Exclude<Role, 'viewer'>;
}

/** Plays `kind:target@+offset` on the demo fleet; throws on a spec it cannot read. */
export interface DemoApiDeps {
  play(spec: string): { name: string; startsAt: number; devices: number };
}

/** What the report routes use: the calculations (reports/index.ts createReports) and the stored reports. */
export interface ReportsApiDeps {
  readonly generate: Pick<Reports, 'savings' | 'waste' | 'fireSafety'>;
  readonly store: Pick<ReportStore, 'list' | 'get'>;
}

/** What the alert routes use of the alerts part: the engine (alarms, events, the rules config) and the incidents. */
export interface AlertsApiDeps {
  readonly engine: Pick<
    AlertEngine,
    'list' | 'get' | 'active' | 'activeAsOf' | 'ack' | 'assign' | 'comment' | 'clear' | 'subscribe' | 'eventsSince' | 'rulesConfig' | 'setRulesConfig' | 'updateRulesConfig'
  >;
  readonly incidents: Pick<Incidents, 'list' | 'get' | 'active' | 'ack' | 'assign' | 'comment' | 'clear' | 'subscribe' | 'eventsSince'>;
  /** Cluster: what the event streams serve instead — every node's events from the shared logs, in seq order (alerts/event-feed.ts). */
  readonly feeds?: { readonly alarms: EventFeed<AlarmEvent>; readonly incidents: EventFeed<IncidentEvent> };
  /** Cluster: every node's active alarms as stored, with the seq they include (the overview's counts); else the engine's. */
  readonly activeAlarms?: { asOf(): { alarms: Alarm[]; seq: number }; subscribe(listener: () => void): () => void };
}

export interface ApiConfig {
  readonly http?: {
    /** Largest request body in bytes (device and token bodies are tiny). Default 64 KiB. */
    readonly bodyLimit?: number;
    /** Trust X-Forwarded-* from a reverse proxy (for the logged client address). Default false. */
    readonly trustProxy?: boolean;
  };
  /** Largest `limit` a list accepts. Default 500. */
  readonly maxListLimit?: number;
  /** Largest number of points (raw rows or buckets) one telemetry query may answer. Default 10,000. */
  readonly maxPoints?: number;
  /** Widest telemetry window in days. Default 400 (a year of reports plus slack). */
  readonly maxWindowDays?: number;
  /** How long a verified API token is trusted without a state-store lookup. Default 10 s. */
  readonly tokenCacheTtlMs?: number;
  /** Failed authentications one client address may make per minute (burst as large) before 429. Default 30. */
  readonly authFailuresPerMinute?: number;
  /** Version shown in the OpenAPI description. */
  readonly version?: string;
  /** The built-in control room: the directory holding its built index.html and assets/. Default `<package>/dist/web`. */
  readonly webRoot?: string;
  readonly alerts?: {
    /** SSE comment line sent this often so proxies keep an idle stream open. Default 15 s. */
    readonly heartbeatMs?: number;
    /** Bytes an SSE client may leave unread before it is disconnected. Default 1 MiB. */
    readonly maxClientBufferBytes?: number;
    /** Live events held per SSE client while its replay runs. Default 10,000. */
    readonly maxPendingEvents?: number;
    /** Rows one CSV export may hold. Default 50,000. */
    readonly maxExportRows?: number;
  };
}

/** ApiConfig with every default applied; what the route plugins receive. */
export interface ResolvedApiConfig {
  readonly bodyLimit: number;
  readonly trustProxy: boolean;
  readonly maxListLimit: number;
  readonly maxPoints: number;
  readonly maxWindowDays: number;
  readonly tokenCacheTtlMs: number;
  readonly authFailuresPerMinute: number;
  readonly version: string;
  readonly webRoot: string;
  readonly alerts: { readonly heartbeatMs: number; readonly maxClientBufferBytes: number; readonly maxPendingEvents: number; readonly maxExportRows: number };
}

export interface RouteOptions {
  readonly config: ResolvedApiConfig;
  readonly deps: ApiDeps;
}
