import type { Logger } from 'pino';
import type { AnjuConfig } from '../core/config.js';
import type { Site } from '../core/index.js';
import { createReports } from '../reports/index.js';
import { createReportScheduler } from '../reports/schedule.js';
import type { Leader } from '../storage/postgres/leader.js';
import type { AlarmStore, DeviceDirectory, StateStore, TelemetryStore } from '../storage/index.js';
import type { EmbeddedDatabase } from '../storage/index.js';
import { createReportAnnouncer } from './report-announce.js';

/** Sites from the state store, in memory for the reports' synchronous lookups, refreshed per run. */
async function loadSites(state: StateStore): Promise<Site[]> {
  const sites: Site[] = [];
  for (let offset = 0; ; offset += 500) {
    const page = await state.listSites({ limit: 500, offset });
    sites.push(...page.items);
    if (page.items.length < 500) return sites;
  }
}

async function loadBuildingNames(state: StateStore, site: string): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (let offset = 0; ; offset += 500) {
    const page = await state.listBuildings(site, { limit: 500, offset });
    for (const b of page.items) names.set(b.id, b.name);
    if (page.items.length < 500) return names;
  }
}

/**
 * Reports for a hub: on-demand generation for the API, the stored-report list, and the monthly
 * schedule (1st at 02:00 in each site's zone, missed months caught up on start) announced on the
 * alerts webhook channel.
 */
export async function startReports(
  config: AnjuConfig,
  deps: {
    telemetry: TelemetryStore; alarms: AlarmStore; db: EmbeddedDatabase; directory: DeviceDirectory; logger: Logger; after?: Promise<void>;
    /** Cluster: the monthly runs happen on the leading node only; a node that starts leading catches up at once. */
    leader?: Pick<Leader, 'isLeader' | 'onChange'>;
  },
) {
  const logger = deps.logger.child({ part: 'reports' });
  const siteCache = new Map<string, Site>();
  const buildingCache = new Map<string, Map<string, string>>();
  // Read whole, then swapped in one step: two reports generated at once each refresh, and one that
  // emptied the caches while the other was about to use them made that report's site unknown (its
  // zone the default, its name the id, its buildings unnamed).
  const refresh = async () => {
    const sites = await loadSites(deps.db.state);
    const buildings = new Map<string, Map<string, string>>();
    for (const s of sites) buildings.set(s.id, await loadBuildingNames(deps.db.state, s.id));
    siteCache.clear();
    buildingCache.clear();
    for (const s of sites) {
      siteCache.set(s.id, s);
      buildingCache.set(s.id, buildings.get(s.id)!);
    }
    return sites;
  };
  await refresh();
  const reports = createReports({}, {
    store: deps.telemetry, alarms: deps.alarms, incidents: deps.db.incidents, devices: deps.directory,
    sites: { get: (id) => siteCache.get(id) }, buildings: { names: (site) => buildingCache.get(site) ?? new Map() },
  });
  // A site's zone, name or grid region may have changed through the API since: read them again per report.
  const generate: typeof reports = {
    savings: async (p) => { await refresh(); return reports.savings(p); },
    waste: async (p) => { await refresh(); return reports.waste(p); },
    fireSafety: async (p) => { await refresh(); return reports.fireSafety(p); },
  };
  const scheduler = createReportScheduler(
    { defaultTimezone: 'Asia/Shanghai' },
    {
      reports: generate, store: deps.db.reports, logger, sites: refresh, announce: createReportAnnouncer(config.alerts.webhooks, { logger }),
      ...(deps.leader ? { leads: () => deps.leader!.isLeader() } : {}),
    },
  );
  const offLeader = deps.leader?.onChange((leads) => {
    if (leads) void scheduler.runDue().catch((err: Error) => logger.error({ err }, 'monthly report catch-up failed'));
  });
  // The catch-up runs in the background: a year of missed months must not hold up start-up.
  // `after`: history still being written (the demo's first start) that the catch-up must see whole.
  void Promise.resolve(deps.after).then(() => scheduler.start()).catch((err: Error) => logger.error({ err }, 'report schedule failed to start'));
  return {
    api: { generate, store: deps.db.reports },
    stop: () => {
      offLeader?.();
      return scheduler.stop();
    },
  };
}
