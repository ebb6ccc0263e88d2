import { afterEach, describe, expect, it } from 'vitest';
import { createDeviceDirectory, type StateStore } from '../../storage/index.js';
import { cleanup, freshDir, openDb } from './spool.helpers.js';
import { holdPoint } from '../helpers/hold-point.js';

/**
 * The device directory's full reload (at start and after the PostgreSQL listener reconnects) racing
 * the changes it hears meanwhile. Found in review: the reload put back its scan's older copies over
 * changes applied while the scan ran — a device moved on another node kept its old site, one created
 * there was unknown here — until it changed again. Real DuckDB state store; its scan held on a gate.
 */
afterEach(cleanup);

describe('device directory: a reload racing the changes it hears', () => {
  it('keeps what changed in memory while its scan ran: a move, a creation and a deletion of another node', async () => {
    const db = await openDb(await freshDir());
    const real = db.state;
    await real.createDevice({ id: 'moved', kind: 'smart_bin', site: 's1', building: 'b1' }, 'h', 1);
    await real.createDevice({ id: 'gone', kind: 'smart_bin', site: 's1', building: 'b1' }, 'h', 1);
    const scan = holdPoint();
    let hold = false;
    const state: StateStore = new Proxy(real, {
      get: (t, k, r) => (k === 'allDevices' ? async () => {
        const all = await t.allDevices();
        if (hold) {
          scan.reach();
          await scan.released;
        }
        return all;
      } : Reflect.get(t, k, r) as unknown),
    });
    const directory = createDeviceDirectory({ state });
    await directory.load();
    hold = true;
    const reload = directory.load();
    await scan.reached;
    // Committed by "another node" after the scan's snapshot; each notification refreshes its device.
    await real.updateDevice('moved', { site: 's2' });
    await real.createDevice({ id: 'fresh', kind: 'smart_bin', site: 's1', building: 'b1' }, 'h', 2);
    await real.deleteDevice('gone');
    for (const id of ['moved', 'fresh', 'gone']) await directory.refresh(id, false);
    scan.release();
    await reload;
    expect(directory.get('moved')?.site).toBe('s2');
    expect(directory.get('fresh')).toBeDefined();
    expect(directory.get('gone')).toBeUndefined();
    // The next reload, with nothing changing meanwhile, takes the scan as it is.
    hold = false;
    await directory.load();
    expect(directory.list().map((d) => [d.id, d.site])).toEqual([['fresh', 's1'], ['moved', 's2']]);
  });
});
