import { expect, it } from 'vitest';
import { withContract, type StoreHarness } from './contract-scaffold.js';
import type { ReportStore, StoredReport } from '../../storage/index.js';

/**
 * The abstract ReportStore suite: every implementation (embedded DuckDB now, PostgreSQL in cluster
 * mode next) runs it through its own `*.test.ts`, unchanged, through the contract only. `open`
 * gives a fresh, empty store; `reopen` restarts it on the same storage; `cleanup` closes and removes.
 */
export type ReportStoreHarness = StoreHarness<ReportStore>;

const MONTH = (m: number) => Date.UTC(2025, m - 1, 1) - 8 * 3_600_000; // month starts in Asia/Shanghai

const report = (id: string, over: Partial<StoredReport> = {}): StoredReport => ({
  id, kind: 'savings', site: 's1', from: MONTH(3), to: MONTH(4), createdAt: MONTH(4) + 3_600_000, origin: 'schedule',
  data: { title: '节能报告', savings: { kWh: 1234.5, percent: 7.5 }, notes: ['基线：IPMVP 选项 C'], empty: null }, ...over,
});
const meta = (r: StoredReport) => {
  const { data: _d, ...m } = r;
  return m;
};

export function reportStoreContract(name: string, open: () => Promise<ReportStoreHarness>): void {
  withContract(`ReportStore contract: ${name}`, open, (c) => {

    it('starts empty; an unknown id or site answers undefined', async () => {
      expect(await c.store.list({ limit: 10, offset: 0 })).toEqual({ items: [], total: 0 });
      expect(await c.store.get('nope')).toBeUndefined();
      expect(await c.store.latestTo('s1', 'savings')).toBeUndefined();
    });

    it('saves a report and gives back its data model exactly, baseline period included; lists carry no data', async () => {
      const r = report('r1', { baselineFrom: MONTH(1) - 365 * 86_400_000, baselineTo: MONTH(1) });
      await c.store.save(r);
      expect(await c.store.get('r1')).toEqual(r);
      const without = report('r2', { kind: 'waste', origin: 'manual' });
      await c.store.save(without);
      expect(await c.store.get('r2')).toEqual(without);
      expect((await c.store.list({ limit: 10, offset: 0 })).items).toEqual(expect.arrayContaining([meta(r), meta(without)]));
      for (const item of (await c.store.list({ limit: 10, offset: 0 })).items) expect(item).not.toHaveProperty('data');
    });

    it('saving the same id again replaces the report (a re-run of the schedule overwrites): one report, the new data', async () => {
      await c.store.save(report('r1'));
      await c.store.save(report('r1', { createdAt: MONTH(4) + 7_200_000, data: { title: '重算' } }));
      await c.store.save(report('r1', { createdAt: MONTH(4) + 7_200_000, data: { title: '重算' } }));
      expect(await c.store.get('r1')).toEqual(report('r1', { createdAt: MONTH(4) + 7_200_000, data: { title: '重算' } }));
      expect((await c.store.list({ limit: 10, offset: 0 })).total).toBe(1);
    });

    it('concurrent saves of different reports all land; of one id, one of them wins whole', async () => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => c.store.save(report(`c${i}`, { site: `s${i % 4}` }))));
      expect((await c.store.list({ limit: 100, offset: 0 })).total).toBe(20);
      await Promise.all([c.store.save(report('same', { data: { v: 1 } })), c.store.save(report('same', { data: { v: 2 } }))]);
      expect([{ v: 1 }, { v: 2 }]).toContainEqual((await c.store.get('same'))?.data);
      expect((await c.store.list({ limit: 100, offset: 0 })).total).toBe(21);
    });

    it('lists newest reporting period first, then newest created, filtered by site and kind, paged with the full total', async () => {
      await c.store.save(report('mar', { from: MONTH(3), to: MONTH(4) }));
      await c.store.save(report('feb', { from: MONTH(2), to: MONTH(3) }));
      await c.store.save(report('mar-again', { from: MONTH(3), to: MONTH(4), createdAt: MONTH(4) + 9_000_000, origin: 'manual' }));
      await c.store.save(report('waste', { kind: 'waste', from: MONTH(1), to: MONTH(2) }));
      await c.store.save(report('other-site', { site: 's2', from: MONTH(5), to: MONTH(6) }));
      const ids = async (q: { site?: string; sites?: string[]; kind?: StoredReport['kind']; limit?: number; offset?: number }) =>
        (await c.store.list({ limit: 100, offset: 0, ...q })).items.map((r) => r.id);
      expect(await ids({})).toEqual(['other-site', 'mar-again', 'mar', 'feb', 'waste']);
      expect(await ids({ site: 's1' })).toEqual(['mar-again', 'mar', 'feb', 'waste']);
      expect(await ids({ site: 's1', kind: 'savings' })).toEqual(['mar-again', 'mar', 'feb']);
      expect(await ids({ kind: 'fire_safety' })).toEqual([]);
      expect(await ids({ sites: ['s2', 'nowhere'] })).toEqual(['other-site']);
      expect(await ids({ sites: [] })).toEqual([]);
      expect((await c.store.list({ limit: 1, offset: 0, sites: ['s1'] })).total).toBe(4);
      const page = await c.store.list({ limit: 2, offset: 1, site: 's1' });
      expect(page.total).toBe(4);
      expect(page.items.map((r) => r.id)).toEqual(['mar', 'feb']);
    });

    it('refuses a negative or fractional page instead of guessing', async () => {
      await expect(c.store.list({ limit: -1, offset: 0 })).rejects.toThrow(RangeError);
      await expect(c.store.list({ limit: 10, offset: 1.5 })).rejects.toThrow(RangeError);
    });

    it('latestTo: the latest period end per site and kind, optionally by origin', async () => {
      await c.store.save(report('a', { from: MONTH(2), to: MONTH(3) }));
      await c.store.save(report('b', { from: MONTH(3), to: MONTH(4), origin: 'manual' }));
      await c.store.save(report('c', { kind: 'waste', from: MONTH(5), to: MONTH(6) }));
      expect(await c.store.latestTo('s1', 'savings')).toBe(MONTH(4));
      expect(await c.store.latestTo('s1', 'savings', 'schedule')).toBe(MONTH(3));
      expect(await c.store.latestTo('s1', 'savings', 'manual')).toBe(MONTH(4));
      expect(await c.store.latestTo('s1', 'fire_safety')).toBeUndefined();
      expect(await c.store.latestTo('s2', 'savings')).toBeUndefined();
    });

    it('reports survive a restart', async () => {
      await c.store.save(report('r1'));
      await c.reopen();
      expect(await c.store.get('r1')).toEqual(report('r1'));
      expect(await c.store.latestTo('s1', 'savings', 'schedule')).toBe(MONTH(4));
    });
  });
}
