import { expect, it } from 'vitest';
import { rosterSchema, type Roster } from '../../core/roster.js';
import type { RosterStore } from '../../storage/rosters/contract.js';
import { withContract, type StoreHarness } from './contract-scaffold.js';

/**
 * The abstract RosterStore suite: the embedded DuckDB store runs it today, the PostgreSQL one of
 * cluster mode must pass it unchanged. Not a test file itself (no `.test.ts`).
 */
export type RosterStoreHarness = StoreHarness<RosterStore>;

const T0 = Date.UTC(2026, 0, 1);

const roster = (site: string, people: string[], extra: Partial<Roster> = {}): Roster => rosterSchema.parse({
  site, timezone: 'Asia/Shanghai', shifts: [{ days: [1, 2, 3, 4, 5, 6, 7], start: '08:00', end: '20:00', people }], managers: ['zhou.min'], ...extra,
});

export function rosterStoreContract(name: string, open: () => Promise<RosterStoreHarness>): void {
  withContract(`RosterStore contract: ${name}`, open, (c) => {

    it('answers nothing for a site without a roster, then the roster stored, exactly, as version 1', async () => {
      expect(await c.store.get('chundu')).toBeUndefined();
      expect(await c.store.history('chundu', 10)).toEqual([]);
      const r = roster('chundu', ['li.na', 'wang.fang'], {
        exceptions: [{ from: '2026-02-16T00:00', to: '2026-02-23T00:00', hazards: '*', buildings: ['b3'], people: [], note: '春节值班' }], ackWithinMinutes: 7,
      });
      expect(await c.store.put(r, 'admin', T0)).toEqual({ roster: r, version: 1, updatedAt: T0, updatedBy: 'admin' });
      expect(await c.store.get('chundu')).toEqual({ roster: r, version: 1, updatedAt: T0, updatedBy: 'admin' });
    });

    it('makes each change the next version, keeps the earlier ones newest first, and keeps sites apart', async () => {
      const v1 = roster('chundu', ['li.na']);
      const v2 = roster('chundu', ['wang.fang']);
      const v3 = roster('chundu', ['chen.jie']);
      const other = roster('lakeside', ['sun.li']);
      await c.store.put(v1, 'admin', T0);
      await c.store.put(other, 'ops', T0 + 1);
      await c.store.put(v2, 'ops', T0 + 2);
      expect((await c.store.put(v3, 'admin', T0 + 3)).version).toBe(3);
      expect((await c.store.get('chundu'))?.roster).toEqual(v3);
      expect((await c.store.history('chundu', 10)).map((h) => [h.version, h.roster.shifts[0]?.people, h.updatedBy])).toEqual([
        [3, ['chen.jie'], 'admin'], [2, ['wang.fang'], 'ops'], [1, ['li.na'], 'admin'],
      ]);
      expect((await c.store.history('chundu', 2)).map((h) => h.version)).toEqual([3, 2]);
      expect(await c.store.get('lakeside')).toEqual({ roster: other, version: 1, updatedAt: T0 + 1, updatedBy: 'ops' });
    });

    it('gives concurrent changes distinct versions, and keeps everything across a reopen', async () => {
      const puts = await Promise.all([1, 2, 3, 4].map((n) => c.store.put(roster('chundu', [`p${n}`]), `u${n}`, T0 + n)));
      expect(puts.map((p) => p.version).sort()).toEqual([1, 2, 3, 4]);
      const before = await c.store.history('chundu', 10);
      await c.reopen();
      expect(await c.store.history('chundu', 10)).toEqual(before);
      expect((await c.store.get('chundu'))?.version).toBe(4);
    });
  });
}
