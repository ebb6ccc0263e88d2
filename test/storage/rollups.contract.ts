import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../core/index.js';
import type { TelemetryStore } from '../../storage/contract.js';
import type { RegisterDay, RegisterRollups } from '../../storage/rollups/contract.js';
import { dayBoundaries, summarizeDay, type RegisterRead } from '../../storage/rollups/summarize.js';

/**
 * The abstract suite for the daily register rollups (storage/rollups/contract.ts): every store that
 * keeps them runs it from its own `*.test.ts`. Whatever order readings arrive in — live appends,
 * late and out-of-order reads, replays, rewrites, backfills over existing days, register resets —
 * the rows must equal a from-scratch summary of every stored read of the day (the oracle below),
 * in the site's local day.
 */
export interface RollupsHarness {
  store: TelemetryStore;
  reopen(): Promise<TelemetryStore>;
  /** Makes the store's registry say a site is in `timezone` (Asia/Shanghai otherwise). */
  setSiteTimezone(site: string, timezone: string): Promise<void>;
  cleanup(): Promise<void>;
}

const MIN = 60_000;
const H = 3_600_000;
/** 2025-03-10 00:00 +08:00 (Asia/Shanghai): local days start at 16:00 UTC. */
const D0 = Date.UTC(2025, 2, 9, 16);
const SH = 'Asia/Shanghai';

const pm = (device: string, ts: number, energy: number | undefined, extra: Partial<Reading> = {}): Reading => ({
  device, kind: 'power_meter', site: 'site-r', building: 'b1', ts, fields: energy === undefined ? { power: 100 } : { energy, power: 100 }, ...extra,
});
const wm = (device: string, ts: number, volume: number): Reading => ({ device, kind: 'water_meter', site: 'site-r', building: 'b2', ts, fields: { volume, flow: 1 } });

/** Every read of a device, grouped into local days and summarised from scratch. */
function oracle(reads: readonly Reading[], device: string, field: string, timezone = SH): RegisterDay[] {
  const mine = new Map<number, Reading>();
  for (const r of reads) {
    const v = r.fields[field];
    if (r.device === device && typeof v === 'number') mine.set(r.ts, r);
  }
  const b = dayBoundaries(timezone);
  const byDay = new Map<string, { r: Reading; reads: RegisterRead[] }>();
  for (const r of [...mine.values()].sort((x, y) => x.ts - y.ts)) {
    const { date } = b.dateOf(r.ts);
    const d = byDay.get(date) ?? { r, reads: [] };
    d.reads.push({ ts: r.ts, value: r.fields[field] as number });
    byDay.set(date, d);
  }
  return [...byDay].map(([date, { r, reads: rr }]) => summarizeDay({ device, kind: r.kind, site: r.site, building: r.building, field, date, timezone },
    rr) as RegisterDay);
}

const norm = (rows: readonly RegisterDay[]) => rows.map((r) => ({ ...r, advance: Math.round(r.advance * 1e6) / 1e6 }));

export function registerRollupsContract(name: string, open: () => Promise<RollupsHarness>): void {
  describe(`daily register rollups contract: ${name}`, () => {
    let h: RollupsHarness;
    let store: TelemetryStore;
    let rollups: RegisterRollups;
    const written: Reading[] = [];
    const write = async (batch: Reading[]) => {
      await store.write(batch);
      // Later writes of one (device, ts) win, as in the store.
      for (const r of batch) {
        const i = written.findIndex((w) => w.device === r.device && w.ts === r.ts);
        if (i >= 0) written[i] = { ...r, fields: { ...(written[i] as Reading).fields, ...r.fields } };
        else written.push(r);
      }
    };
    const days = (device: string, fromDate = '2025-03-01', toDate = '2025-03-31', kind: 'power_meter' | 'water_meter' = 'power_meter', field = 'energy') =>
      rollups.days({ site: 'site-r', kind, field, fromDate, toDate, devices: [device] });

    beforeEach(async () => {
      h = await open();
      store = h.store;
      rollups = store.rollups as RegisterRollups;
      written.length = 0;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('the store keeps rollups', () => {
      expect(rollups).toBeDefined();
    });

    it('live appends in small batches build the local day, hand-checked', async () => {
      // 15-minute reads from 23:00 local on day 0 to 01:00 local on day 2, 0.5 kWh each.
      const reads = Array.from({ length: 4 + 96 + 5 }, (_, i) => pm('pm-1', D0 - H + i * 15 * MIN, 100 + i * 0.5));
      for (let i = 0; i < reads.length; i += 7) await write(reads.slice(i, i + 7));
      const rows = await days('pm-1');
      expect(rows.map((r) => [r.date, r.reads])).toEqual([['2025-03-09', 4], ['2025-03-10', 96], ['2025-03-11', 5]]);
      const day = rows[1] as RegisterDay;
      // 96 reads from 00:00 to 23:45 local: 95 intervals of 0.5 kWh covering 23 h 45 min.
      expect(day).toMatchObject({ timezone: SH, firstTs: D0, firstValue: 102, lastTs: D0 + 24 * H - 15 * MIN, lastValue: 149.5, coveredMs: 95 * 15 * MIN, resets: [], site: 'site-r', building: 'b1', kind: 'power_meter', field: 'energy' });
      expect(day.advance).toBeCloseTo(47.5, 9);
      expect(norm(rows)).toEqual(norm(oracle(written, 'pm-1', 'energy')));
    });

    it('live appends of the last hour, batch after batch, each read newer than any stored, build their day', async () => {
      // Recent and in order: the embedded store inserts such batches without a MERGE, and most of them
      // (their hours already pending) without a transaction of their own — the rollups must still follow.
      const start = Date.now() - H;
      const reads = Array.from({ length: 60 }, (_, i) => pm('pm-live', start + i * MIN, 500 + i * 0.25));
      for (let i = 0; i < reads.length; i += 6) await write(reads.slice(i, i + 6));
      const b = dayBoundaries(SH);
      const rows = await days('pm-live', b.dateOf(start).date, b.dateOf(start + H).date);
      expect(rows.reduce((n, r) => n + r.reads, 0)).toBe(60);
      expect(norm(rows)).toEqual(norm(oracle(written, 'pm-live', 'energy')));
    });

    it('late, out-of-order and rewritten reads recompute their day; a replay changes nothing', async () => {
      const reads = Array.from({ length: 96 }, (_, i) => pm('pm-1', D0 + i * 15 * MIN, 10 + i));
      const late = reads.filter((_, i) => i % 10 === 3);
      await write(reads.filter((_, i) => i % 10 !== 3));
      const before = await days('pm-1');
      await write(late);
      expect(norm(await days('pm-1'))).toEqual(norm(oracle(written, 'pm-1', 'energy')));
      expect((await days('pm-1'))[0]?.reads).toBe(96);
      expect(before[0]?.reads).toBe(96 - late.length);
      // A corrected value at an existing instant.
      await write([pm('pm-1', D0 + 50 * 15 * MIN, 61.5)]);
      expect(norm(await days('pm-1'))).toEqual(norm(oracle(written, 'pm-1', 'energy')));
      const once = await days('pm-1');
      await write(reads.slice(0, 40));
      await write(reads.slice(0, 40));
      expect(norm(await days('pm-1'))).toEqual(norm(once));
    });

    it('a register reset inside a day is listed, not counted, and its interval is not covered', async () => {
      const values = [9990, 9995, 9999, 2, 5, 9];
      await write(values.map((v, i) => pm('pm-1', D0 + 6 * H + i * H, v)));
      const [day] = await days('pm-1');
      expect(day?.resets).toEqual([{ ts: D0 + 9 * H, previous: 9999, value: 2 }]);
      expect(day?.advance).toBeCloseTo(9 + 7, 9);
      expect(day?.coveredMs).toBe(4 * H);
    });

    it('a day without reads has no row; a long silence inside a day is still one chain', async () => {
      await write([pm('pm-1', D0 + 1 * H, 1), pm('pm-1', D0 + 20 * H, 9), pm('pm-1', D0 + 2 * 24 * H + H, 12)]);
      const rows = await days('pm-1');
      expect(rows.map((r) => r.date)).toEqual(['2025-03-10', '2025-03-12']);
      expect(rows[0]).toMatchObject({ advance: 8, coveredMs: 19 * H, reads: 2 });
    });

    it('a backfill over days that already have rows, in one large batch, leaves every day exact', async () => {
      const live = Array.from({ length: 3 * 96 }, (_, i) => pm('pm-2', D0 + i * 15 * MIN + 7 * MIN, 500 + i * 0.25));
      await write(live.slice(96));
      // History for three days at another phase (00, 15, 30, 45 min), overlapping what is there.
      const history = Array.from({ length: 4 * 96 }, (_, i) => pm('pm-2', D0 - 24 * H + i * 15 * MIN, 476 + i * 0.25));
      await write(history);
      await write(live.slice(0, 96));
      expect(norm(await days('pm-2'))).toEqual(norm(oracle(written, 'pm-2', 'energy')));
    });

    it('readings without the register field make no row; water volume is rolled up per device', async () => {
      await write([pm('pm-3', D0 + H, undefined), pm('pm-3', D0 + 2 * H, undefined)]);
      expect(await days('pm-3')).toEqual([]);
      await write([wm('wm-1', D0 + H, 10.5), wm('wm-1', D0 + 2 * H, 10.75), wm('wm-2', D0 + H, 3)]);
      const w = await days('wm-1', '2025-03-01', '2025-03-31', 'water_meter', 'volume');
      expect(w).toHaveLength(1);
      expect(w[0]).toMatchObject({ kind: 'water_meter', field: 'volume', building: 'b2', advance: 0.25, reads: 2 });
      const all = await rollups.days({ site: 'site-r', kind: 'water_meter', field: 'volume', fromDate: '2025-03-01', toDate: '2025-03-31' });
      expect(all.map((r) => r.device)).toEqual(['wm-1', 'wm-2']);
      expect(await rollups.days({ site: 'elsewhere', kind: 'water_meter', field: 'volume', fromDate: '2025-03-01', toDate: '2025-03-31' })).toEqual([]);
    });

    it('days follow the site zone the registry gives; rebuild rewrites a range in another zone', async () => {
      await h.setSiteTimezone('site-r', 'UTC');
      // 22:00 and 23:00 UTC on Mar 9, 01:00 UTC on Mar 10: UTC days split them 2 | 1.
      const reads = [pm('pm-4', D0 + 6 * H, 1), pm('pm-4', D0 + 7 * H, 2), pm('pm-4', D0 + 9 * H, 4)];
      await write(reads);
      const utc = await days('pm-4');
      expect(utc.map((r) => [r.date, r.reads, r.timezone])).toEqual([['2025-03-09', 2, 'UTC'], ['2025-03-10', 1, 'UTC']]);
      const n = await rollups.rebuild({ site: 'site-r', kind: 'power_meter', field: 'energy', fromDate: '2025-03-08', toDate: '2025-03-11', timezone: SH });
      expect(n).toBe(1);
      const sh = await days('pm-4');
      expect(sh.map((r) => [r.date, r.reads, r.timezone])).toEqual([['2025-03-10', 3, SH]]);
      expect(norm(sh)).toEqual(norm(oracle(written, 'pm-4', 'energy', SH)));
    });

    it('rows survive close and reopen', async () => {
      await write(Array.from({ length: 10 }, (_, i) => pm('pm-5', D0 + i * H, i * 2)));
      store = await h.reopen();
      rollups = store.rollups as RegisterRollups;
      expect(norm(await days('pm-5'))).toEqual(norm(oracle(written, 'pm-5', 'energy')));
    });
  });
}
