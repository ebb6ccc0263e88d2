import type { Reading } from '../core/index.js';
import type { LatestCache, TelemetryStore } from './contract.js';

/**
 * The latest reading per device, in memory. Readings arrive out of order (buffered devices, QoS 1
 * redeliveries, backfills), so a reading only replaces the cached one when it is at least as new.
 * A reading with the same ts is the same point rewritten: its fields are merged over the cached
 * ones, as the store merges them.
 */
export function createLatestCache(deps: { store: TelemetryStore }): LatestCache {
  const latest = new Map<string, Reading>();

  const offer = (r: Reading): void => {
    const cur = latest.get(r.device);
    if (!cur || r.ts > cur.ts) latest.set(r.device, r);
    else if (r.ts === cur.ts) latest.set(r.device, { ...r, seq: r.seq ?? cur.seq, fields: { ...cur.fields, ...r.fields } });
  };

  return {
    name: 'latest-cache',
    async prime() {
      // Readings accepted while the query runs may be newer than what it returns: offer, never overwrite.
      for (const r of await deps.store.latestAll()) offer(r);
    },
    get: (device) => latest.get(device),
    size: () => latest.size,
    accept(readings) {
      for (const r of readings) offer(r);
    },
    forget(device) {
      latest.delete(device);
    },
  };
}
