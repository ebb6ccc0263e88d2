import type { ApiClient } from './api.js';
import {
  incidentLevelRank, isActive, roleAtLeast, roleRank, severityRank, type Alarm, type AlarmEvent, type Building, type Device, type Incident, type IncidentEvent,
  type Page, type Role, type Session, type Site, type SitePerson,
} from './types.js';

/**
 * What every view shares once signed in: the client, the session, the current site with its
 * buildings and device names, and the site's alarms kept current by the SSE stream.
 */

/**
 * Roles per action, as api/routes/api/alerts/index.ts enforces them; `command` (confirming a
 * proposed response sends one) as ANJU_COMMAND_ROLE's default, operator — a deployment that lowers
 * it still gets the 403 explained if the buttons are hidden from someone allowed.
 */
export function can(role: Role, action: 'ack' | 'clear' | 'comment' | 'assign' | 'command' | 'roster'): boolean {
  return roleAtLeast(role, action === 'assign' || action === 'command' || action === 'roster' ? 'operator' : 'maintenance');
}

/** The role the signed-in caller holds at `site` (the highest grant covering it), which decides the actions shown there. */
export function roleAt(session: Session, site: string): Role {
  if (!session.grants) return session.role;
  let best: Role | undefined;
  for (const g of session.grants) {
    if (g.sites !== '*' && !g.sites.includes(site)) continue;
    if (best === undefined || roleRank[g.role] > roleRank[best]) best = g.role;
  }
  return best ?? 'viewer';
}

/** The account id of a person signed in with a session (`account:<id>`); undefined for an API token. */
export function accountOf(session: Session): string | undefined {
  return session.tokenId.startsWith('account:') ? session.tokenId.slice('account:'.length) : undefined;
}

/** Listeners of one kind of thing (the incident events of every site the caller sees). */
export class Emitter<T> {
  private readonly listeners = new Set<(value: T) => void>();
  subscribe(fn: (value: T) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  emit(value: T): void {
    for (const fn of [...this.listeners]) fn(value);
  }
}

/**
 * The people of each site (`GET /api/sites/{id}/people`), asked once per site and kept: the assign
 * picker and the roster offer them, the feed and timelines show an assignee by display name. A hub
 * without accounts (or a refusal) leaves the list empty: names stay account ids, assigning free text.
 */
export class PeopleDirectory {
  private readonly bySite = new Map<string, Promise<SitePerson[]>>();
  private readonly names = new Map<string, string>();
  constructor(private readonly api: ApiClient) {}

  of(site: string): Promise<SitePerson[]> {
    let p = this.bySite.get(site);
    if (!p) {
      p = this.api.get<Page<SitePerson>>(`/api/sites/${encodeURIComponent(site)}/people`, { limit: 500 }).then((page) => {
        for (const person of page.items) this.names.set(person.id, person.displayName);
        return page.items;
      });
      // A failure is not kept: the next view asks again.
      p.catch(() => this.bySite.delete(site));
      this.bySite.set(site, p);
    }
    return p;
  }

  /** The display name of an account id seen in any site's list; anything else (free text) as it is. */
  name(idOrText: string): string {
    return this.names.get(idOrText) ?? idOrText;
  }
}

const MAX_CLEARED = 200;

interface Versioned { readonly id: string; readonly status: Alarm['status']; readonly lastUpdateTime: string }

/**
 * Things of one site kept current from a list answer and an event stream, newest state winning:
 * the alarms, and the incidents they are correlated into. Active ones all, and the recently cleared.
 */
class LiveSet<T extends Versioned, E> {
  protected readonly byId = new Map<string, T>();
  private readonly listeners = new Set<(e?: E) => void>();

  /**
   * Keeps the newer of two states (events may cross a list answer). On equal times an event wins
   * and a list answer does not: an ack keeps its alarm's time when the device's clock was ahead,
   * and a list read before the ack must not bring the Ack button back.
   */
  upsert(item: T, notify = true, event?: E): void {
    const prev = this.byId.get(item.id);
    const t = Date.parse(item.lastUpdateTime);
    const prevT = prev ? Date.parse(prev.lastUpdateTime) : -Infinity;
    if (t > prevT || (event !== undefined && t === prevT)) {
      const { timeline: _timeline, ...summary } = item as T & { timeline?: unknown };
      this.byId.set(item.id, summary as T);
      if (!isActive(summary.status)) this.pruneCleared();
    }
    if (notify) this.emit(event);
  }

  /** A screen that runs for months keeps the newest MAX_CLEARED cleared ones, not every one. */
  private pruneCleared(): void {
    const cleared = [...this.byId.values()].filter((a) => !isActive(a.status));
    if (cleared.length <= MAX_CLEARED + MAX_CLEARED / 4) return;
    cleared.sort((a, b) => Date.parse(b.lastUpdateTime) - Date.parse(a.lastUpdateTime));
    for (const a of cleared.slice(MAX_CLEARED)) this.byId.delete(a.id);
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  subscribe(fn: (e?: E) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(e?: E): void {
    for (const fn of [...this.listeners]) fn(e);
  }
}

/** The alarms of one site. */
export class AlarmStore extends LiveSet<Alarm, AlarmEvent> {
  async load(api: ApiClient, site: string): Promise<void> {
    const [active, cleared] = await Promise.all([
      api.get<{ items: Alarm[] }>('/api/alerts', { site, status: 'active_unack,active_ack', limit: 500 }),
      api.get<{ items: Alarm[] }>('/api/alerts', { site, status: 'cleared_unack,cleared_ack', limit: 50 }),
    ]);
    for (const a of [...cleared.items, ...active.items]) this.upsert(a, false);
    this.emit();
  }

  /** Active first, then most severe, then newest. */
  list(filter: { building?: string; includeCleared?: boolean; device?: string } = {}): Alarm[] {
    return [...this.byId.values()]
      .filter((a) => (filter.includeCleared || isActive(a.status)) && (!filter.building || a.building === filter.building)
        && (!filter.device || a.originator.id === filter.device))
      .sort((a, b) =>
        Number(isActive(b.status)) - Number(isActive(a.status))
        || severityRank[b.severity] - severityRank[a.severity]
        || Date.parse(b.startTime) - Date.parse(a.startTime));
  }

}

/** The incidents of one site: what the feed leads with, their alarms folded under them. */
export class IncidentStore extends LiveSet<Incident, IncidentEvent> {
  async load(api: ApiClient, site: string): Promise<void> {
    const [active, cleared] = await Promise.all([
      api.get<{ items: Incident[] }>('/api/incidents', { site, status: 'active_unack,active_ack', limit: 500 }),
      api.get<{ items: Incident[] }>('/api/incidents', { site, status: 'cleared_unack,cleared_ack', limit: 20 }),
    ]);
    for (const i of [...cleared.items, ...active.items]) this.upsert(i, false);
    this.emit();
  }

  /** Active first, then a fire before a pre-alarm before the rest, then most severe, then newest. */
  list(filter: { building?: string; includeCleared?: boolean; device?: string } = {}): Incident[] {
    return [...this.byId.values()]
      .filter((i) => (filter.includeCleared || isActive(i.status)) && (!filter.building || i.building === filter.building)
        && (!filter.device || i.alarms.some((m) => m.originator.id === filter.device)))
      .sort(byUrgency);
  }
}

/** Incidents most urgent first: active, then a fire before a pre-alarm before the rest, then most severe, then newest. */
export function byUrgency(a: Incident, b: Incident): number {
  return Number(isActive(b.status)) - Number(isActive(a.status))
    || incidentLevelRank[b.level] - incidentLevelRank[a.level]
    || severityRank[b.severity] - severityRank[a.severity]
    || Date.parse(b.startTime) - Date.parse(a.startTime);
}

export interface Ctx {
  readonly api: ApiClient;
  readonly session: Session;
  readonly sites: Site[];
  readonly site: Site;
  readonly buildings: Map<string, Building>;
  readonly devices: Map<string, Device>;
  readonly alarms: AlarmStore;
  readonly incidents: IncidentStore;
  /** Every incident event of every site the caller sees (the stores keep the current site's only). */
  readonly incidentEvents: Emitter<IncidentEvent>;
  readonly people: PeopleDirectory;
  /** Polite status messages (action results). */
  status(text: string): void;
}

export function buildingName(ctx: Ctx, id: string): string {
  return ctx.buildings.get(id)?.name ?? id;
}

export function deviceName(ctx: Ctx, id: string): string {
  return ctx.devices.get(id)?.name ?? id;
}

/** Every device of a site, page by page. */
export async function loadDevices(api: ApiClient, site: string): Promise<Device[]> {
  const out: Device[] = [];
  for (let offset = 0; ; offset += 500) {
    const page = await api.get<Page<Device>>('/api/devices', { site, limit: 500, offset });
    out.push(...page.items);
    if (page.items.length < 500 || out.length >= page.total) return out;
  }
}
