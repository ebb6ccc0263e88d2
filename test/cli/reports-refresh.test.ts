import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startReports } from '../../cli/reports.js';
import { holdPoint } from '../helpers/hold-point.js';

/**
 * The reports' site and building names, read again for every report (a site's zone or name may have
 * changed through the API). Two reports generated at once each read them; found in review: one
 * emptied the caches while the other was about to use them, and that report came out for an unknown
 * site (default zone, the id as its name). The state store is the narrow seam here: each read can be
 * held on a gate, so the interleaving is the same every time.
 */
const sites = Array.from({ length: 6 }, (_, i) => ({ id: `s${i + 1}`, name: `Site ${i + 1}`, address: '', timezone: 'Europe/Berlin' }));

describe('reports: site and building names read for each report', () => {
  it('two reports at once: each is made for its site as configured, named and in its zone', async () => {
    let refreshes = 0;
    const holdA = holdPoint();
    const holdB = holdPoint();
    const state = {
      async listSites() {
        refreshes += 1;
        return { items: sites, total: sites.length };
      },
      async listBuildings(site: string) {
        // The second read (report A's) waits at its last site; the third (report B's) at its first.
        if (refreshes === 2 && site === 's6') {
          holdA.reach();
          await holdA.released;
        }
        if (refreshes === 3 && site === 's1') {
          holdB.reach();
          await holdB.released;
        }
        return { items: [{ id: `${site}-b1`, site, name: `Building of ${site}` }], total: 1 };
      },
    };
    const devices = sites.map((s) => ({ id: `${s.id}-bin`, kind: 'smart_bin', site: s.id, building: `${s.id}-b1`, category: 'other' }));
    const telemetry = {
      name: 'none', series: async () => [], latest: async () => undefined, latestAll: async () => [], write: async () => undefined, close: async () => undefined,
    };
    const empty = async () => ({ items: [], total: 0 });
    const r = await startReports({ alerts: { webhooks: [] } } as never, {
      telemetry: telemetry as never, alarms: { list: empty } as never,
      db: { state, reports: { save: async () => undefined, latestTo: async () => undefined }, incidents: { list: empty } } as never,
      directory: { list: () => devices } as never, logger: pino({ level: 'silent' }), after: new Promise(() => undefined),
    });
    const waste = () => r.api.generate.waste({ site: 's6', from: '2026-01-01', to: '2026-02-01' }) as Promise<{ site: { name: string; timezone: string } }>;
    const a = waste();
    await holdA.reached;
    const b = waste();
    await holdB.reached;
    holdA.release();
    expect((await a).site).toMatchObject({ name: 'Site 6', timezone: 'Europe/Berlin' });
    holdB.release();
    expect((await b).site).toMatchObject({ name: 'Site 6', timezone: 'Europe/Berlin' });
    await r.stop();
  });
});
