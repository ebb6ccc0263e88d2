import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KindName, Reading } from '../../core/index.js';
import { aggregates, type Aggregate, type EncodedReadings, type TelemetryStore } from '../../storage/contract.js';

/**
 * The abstract TelemetryStore suite: every implementation (embedded DuckDB, InfluxDB) runs it
 * through its own `*.test.ts`. Not a test file itself (no `.test.ts`), so vitest never runs it alone.
 *
 * `open` gives a fresh, empty store; `reopen` closes that store and opens a new one on the same
 * storage (the durability test); `cleanup` closes whatever is open and removes the storage.
 */
export interface ContractHarness {
  store: TelemetryStore;
  reopen(): Promise<TelemetryStore>;
  cleanup(): Promise<void>;
}

// Aligned to whole hours since the epoch so that bucket boundaries are easy to reason about.
const T0 = Date.UTC(2025, 0, 1, 0, 0, 0);
const MIN = 60_000;

function smoke(device: string, ts: number, fields: Reading['fields'], extra: Partial<Reading> = {}): Reading {
  return { device, kind: 'smoke_detector', site: 'site-a', building: 'b1', ts, fields, ...extra };
}

export function telemetryStoreContract(name: string, open: () => Promise<ContractHarness>): void {
  describe(`TelemetryStore contract: ${name}`, () => {
    let h: ContractHarness;
    let store: TelemetryStore;
    beforeEach(async () => {
      h = await open();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    const count = async (kind: KindName, device?: string) =>
      (await store.series({ kind, from: 0, to: T0 + 365 * 24 * 60 * MIN, ...(device ? { device } : {}) })).length;

    it('writes a reading and answers it as the latest', async () => {
      await store.write([smoke('sd-1', T0, { smoke: 0.12, temperature: 22.5, alarm: false }, { seq: 7 })]);
      expect(await store.latest('sd-1')).toEqual(smoke('sd-1', T0, { smoke: 0.12, temperature: 22.5, alarm: false }, { seq: 7 }));
      expect(await store.latest('nobody')).toBeUndefined();
    });

    it('latest is the newest reading even when written out of order', async () => {
      await store.write([smoke('sd-1', T0 + 2 * MIN, { smoke: 0.3 }), smoke('sd-1', T0, { smoke: 0.1 })]);
      await store.write([smoke('sd-1', T0 + MIN, { smoke: 0.2 })]);
      expect((await store.latest('sd-1'))?.ts).toBe(T0 + 2 * MIN);
    });

    it('latestAll answers one newest reading per device across kinds', async () => {
      await store.write([
        smoke('sd-1', T0, { smoke: 0.1 }),
        smoke('sd-1', T0 + MIN, { smoke: 0.2 }),
        smoke('sd-2', T0, { smoke: 0.5 }),
        { device: 'bin-1', kind: 'smart_bin', site: 'site-a', building: 'b1', category: 'kitchen', ts: T0 + 5 * MIN, fields: { fill: 80, tilt: false } },
        { device: 'wm-1', kind: 'water_meter', site: 'site-b', building: 'b9', ts: T0 + 3 * MIN, fields: { volume: 1234.5 } },
      ]);
      const all = await store.latestAll();
      const byDevice = Object.fromEntries(all.map((r) => [r.device, r]));
      expect(Object.keys(byDevice).sort()).toEqual(['bin-1', 'sd-1', 'sd-2', 'wm-1']);
      expect(byDevice['sd-1']?.ts).toBe(T0 + MIN);
      expect(byDevice['sd-1']?.fields).toEqual({ smoke: 0.2 });
      expect(byDevice['bin-1']).toEqual({ device: 'bin-1', kind: 'smart_bin', site: 'site-a', building: 'b1', category: 'kitchen', ts: T0 + 5 * MIN, fields: { fill: 80, tilt: false } });
      expect(byDevice['wm-1']?.kind).toBe('water_meter');
    });

    it('rewriting the same (device, ts) overwrites instead of adding a point', async () => {
      await store.write([smoke('sd-1', T0, { smoke: 0.1, alarm: false }), smoke('sd-1', T0 + MIN, { smoke: 0.2 })]);
      await store.write([smoke('sd-1', T0, { smoke: 0.9, alarm: true })]);
      // A replay of the very same batch after a crash changes nothing.
      await store.write([smoke('sd-1', T0, { smoke: 0.9, alarm: true })]);
      expect(await count('smoke_detector', 'sd-1')).toBe(2);
      const [first] = await store.series({ kind: 'smoke_detector', device: 'sd-1', from: T0, to: T0 + 1 });
      expect(first?.values).toMatchObject({ smoke: 0.9, alarm: true });
    });

    it('a rewrite with fewer fields keeps the others, as InfluxDB merges field sets', async () => {
      await store.write([smoke('sd-1', T0, { smoke: 0.1, temperature: 20 })]);
      await store.write([smoke('sd-1', T0, { smoke: 0.4 })]);
      expect((await store.latest('sd-1'))?.fields).toEqual({ smoke: 0.4, temperature: 20 });
    });

    it('a rewrite after close and reopen still overwrites, and one of an older hour too', async () => {
      await store.write([smoke('sd-1', T0, { smoke: 0.1, temperature: 20 }), smoke('sd-1', T0 + 90 * MIN, { smoke: 0.2 })]);
      store = await h.reopen();
      await store.write([smoke('sd-1', T0 + 90 * MIN, { smoke: 0.3 })]);
      await store.write([smoke('sd-1', T0, { smoke: 0.4 })]);
      expect(await count('smoke_detector', 'sd-1')).toBe(2);
      const points = await store.series({ kind: 'smoke_detector', device: 'sd-1', from: T0, to: T0 + 2 * 60 * MIN });
      expect(points.map((p) => [p.ts, p.values.smoke, p.values.temperature])).toEqual([[T0, 0.4, 20], [T0 + 90 * MIN, 0.3, null]]);
    });

    it('the same point twice in one batch is stored once, the later fields winning', async () => {
      await store.write([smoke('sd-1', T0, { smoke: 0.1, co: 3 }), smoke('sd-1', T0, { smoke: 0.2 })]);
      expect(await count('smoke_detector', 'sd-1')).toBe(1);
      expect((await store.latest('sd-1'))?.fields).toEqual({ smoke: 0.2, co: 3 });
    });

    it('repeats of a point among other devices and out-of-order readings are each stored once, the later fields winning', async () => {
      await store.write([
        smoke('sd-1', T0, { smoke: 0.1, co: 3 }), smoke('sd-2', T0, { smoke: 0.5 }), smoke('sd-1', T0 + MIN, { smoke: 0.2 }),
        smoke('sd-2', T0 - MIN, { smoke: 0.4 }), smoke('sd-1', T0, { smoke: 0.3 }), smoke('sd-2', T0, { co: 9 }),
        smoke('sd-1', T0 + MIN, { co: 1 }),
      ]);
      expect(await count('smoke_detector', 'sd-1')).toBe(2);
      expect(await count('smoke_detector', 'sd-2')).toBe(2);
      const points = await store.series({ kind: 'smoke_detector', from: T0 - MIN, to: T0 + 2 * MIN });
      expect(points.map((p) => [p.device, p.ts, p.values.smoke, p.values.co]).sort()).toEqual([
        ['sd-1', T0, 0.3, 3], ['sd-1', T0 + MIN, 0.2, 1], ['sd-2', T0, 0.5, 9], ['sd-2', T0 - MIN, 0.4, null],
      ].sort());
    });

    it('raw series: ordered by ts, half-open [from, to), limit keeps the oldest', async () => {
      await store.write([3, 0, 4, 1, 2].map((i) => smoke('sd-1', T0 + i * MIN, { smoke: i / 10 })));
      const pts = await store.series({ kind: 'smoke_detector', device: 'sd-1', from: T0 + MIN, to: T0 + 4 * MIN });
      expect(pts.map((p) => p.ts)).toEqual([T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN]);
      expect(pts.map((p) => p.values.smoke)).toEqual([0.1, 0.2, 0.3]);
      expect(pts.every((p) => p.device === 'sd-1')).toBe(true);
      const limited = await store.series({ kind: 'smoke_detector', device: 'sd-1', from: T0, to: T0 + 10 * MIN, limit: 2 });
      expect(limited.map((p) => p.ts)).toEqual([T0, T0 + MIN]);
    });

    it('raw series filters by device, site and building (AND)', async () => {
      await store.write([
        smoke('a', T0, { smoke: 1 }, { site: 's1', building: 'b1' }),
        smoke('b', T0, { smoke: 2 }, { site: 's1', building: 'b2' }),
        smoke('c', T0, { smoke: 3 }, { site: 's2', building: 'b1' }),
      ]);
      const q = { kind: 'smoke_detector' as const, from: T0, to: T0 + MIN };
      const devices = async (extra: object) => (await store.series({ ...q, ...extra })).map((p) => p.device).sort();
      expect(await devices({})).toEqual(['a', 'b', 'c']);
      expect(await devices({ device: 'b' })).toEqual(['b']);
      expect(await devices({ site: 's1' })).toEqual(['a', 'b']);
      expect(await devices({ building: 'b1' })).toEqual(['a', 'c']);
      expect(await devices({ site: 's1', building: 'b1' })).toEqual(['a']);
      expect(await devices({ site: 's2', device: 'a' })).toEqual([]);
    });

    it('missing fields are null; `fields` restricts the answer', async () => {
      await store.write([smoke('sd-1', T0, { smoke: 0.1 })]);
      const [p] = await store.series({ kind: 'smoke_detector', from: T0, to: T0 + 1 });
      expect(p?.values).toEqual({ smoke: 0.1, temperature: null, co: null, alarm: null, test: null, battery: null });
      const [q] = await store.series({ kind: 'smoke_detector', from: T0, to: T0 + 1, fields: ['smoke', 'alarm'] });
      expect(q?.values).toEqual({ smoke: 0.1, alarm: null });
    });

    it('booleans come back as booleans in raw series', async () => {
      await store.write([smoke('sd-1', T0, { smoke: 0, alarm: true, test: false })]);
      const [p] = await store.series({ kind: 'smoke_detector', from: T0, to: T0 + 1 });
      expect(p?.values.alarm).toBe(true);
      expect(p?.values.test).toBe(false);
    });

    describe('aggregated series', () => {
      // Device d1: three readings in bucket 0 ([T0, T0+10m)), one in bucket 1; d2: one in bucket 0.
      const every = 10 * MIN;
      beforeEach(async () => {
        await store.write([
          smoke('d1', T0 + 1 * MIN, { smoke: 1, alarm: false, temperature: 20 }),
          smoke('d1', T0 + 5 * MIN, { smoke: 4, alarm: true }),
          smoke('d1', T0 + 9 * MIN, { smoke: 2, alarm: true, temperature: 26 }),
          smoke('d1', T0 + 12 * MIN, { smoke: 8 }),
          smoke('d2', T0 + 3 * MIN, { smoke: 5, alarm: false }),
        ]);
      });
      const expected: Record<Aggregate, { smoke: number; alarm: number | null; temperature: number | null; next: number }> = {
        mean: { smoke: 7 / 3, alarm: 2 / 3, temperature: 23, next: 8 },
        min: { smoke: 1, alarm: 0, temperature: 20, next: 8 },
        max: { smoke: 4, alarm: 1, temperature: 26, next: 8 },
        sum: { smoke: 7, alarm: 2, temperature: 46, next: 8 },
        count: { smoke: 3, alarm: 3, temperature: 2, next: 1 },
        first: { smoke: 1, alarm: 0, temperature: 20, next: 8 },
        last: { smoke: 2, alarm: 1, temperature: 26, next: 8 },
      };
      for (const agg of aggregates) {
        it(`${agg}: one point per device per epoch-aligned bucket`, async () => {
          const pts = await store.series({ kind: 'smoke_detector', from: T0, to: T0 + 20 * MIN, every, agg });
          expect(pts.map((p) => [p.ts, p.device])).toEqual([[T0, 'd1'], [T0, 'd2'], [T0 + every, 'd1']]);
          const [b0, , b1] = pts;
          const e = expected[agg];
          expect(b0?.values.smoke).toBeCloseTo(e.smoke, 9);
          expect(b0?.values.alarm).toBeCloseTo(e.alarm as number, 9);
          expect(b0?.values.temperature).toBeCloseTo(e.temperature as number, 9);
          expect(b1?.values.smoke).toBeCloseTo(e.next, 9);
          // A field with no value in the bucket: count says 0, every other aggregate null.
          expect(b1?.values.co).toBe(agg === 'count' ? 0 : null);
        });
      }

      it('buckets align to the epoch, not to `from`', async () => {
        const pts = await store.series({ kind: 'smoke_detector', device: 'd1', from: T0 + 4 * MIN, to: T0 + 20 * MIN, every, agg: 'count', fields: ['smoke'] });
        expect(pts.map((p) => [p.ts, p.values.smoke])).toEqual([[T0, 2], [T0 + every, 1]]);
      });
    });

    it('empty results: an unknown device, an empty window, a kind never written', async () => {
      await store.write([smoke('sd-1', T0, { smoke: 0.1 })]);
      expect(await store.series({ kind: 'smoke_detector', device: 'nobody', from: T0, to: T0 + MIN })).toEqual([]);
      expect(await store.series({ kind: 'smoke_detector', from: T0 + 1, to: T0 + MIN })).toEqual([]);
      expect(await store.series({ kind: 'smoke_detector', from: T0, to: T0 })).toEqual([]);
      expect(await store.series({ kind: 'power_meter', from: 0, to: T0 * 2, every: MIN, agg: 'mean' })).toEqual([]);
      await store.write([]);
    });

    it('a large batch (10k readings) is stored whole', async () => {
      const batch = Array.from({ length: 10_000 }, (_, i) => smoke(`sd-${i % 100}`, T0 + Math.floor(i / 100) * 1000, { smoke: (i % 20) / 10, battery: 90 }));
      await store.write(batch);
      expect(await count('smoke_detector')).toBe(10_000);
      expect((await store.latestAll()).length).toBe(100);
      const sums = await store.series({ kind: 'smoke_detector', device: 'sd-7', from: T0, to: T0 + 100_000, every: 100_000, agg: 'count', fields: ['smoke'] });
      expect(sums).toEqual([{ ts: T0, device: 'sd-7', values: { smoke: 100 } }]);
    });

    it('one batch may carry many kinds', async () => {
      await store.write([
        smoke('sd-1', T0, { smoke: 0.1 }),
        { device: 'bin-1', kind: 'smart_bin', site: 's', building: 'b', category: 'recyclable', ts: T0, fields: { fill: 10, lid_open: true } },
        { device: 'wm-1', kind: 'water_meter', site: 's', building: 'b', ts: T0, fields: { volume: 10, flow: 0 } },
        { device: 'pm-1', kind: 'power_meter', site: 's', building: 'b', ts: T0, fields: { energy: 5, power: 120.5, residual_current: 3 } },
      ]);
      for (const [kind, device] of [['smoke_detector', 'sd-1'], ['smart_bin', 'bin-1'], ['water_meter', 'wm-1'], ['power_meter', 'pm-1']] as const) {
        expect(await count(kind, device)).toBe(1);
        expect((await store.latest(device))?.kind).toBe(kind);
      }
      expect((await store.latest('pm-1'))?.fields).toEqual({ energy: 5, power: 120.5, residual_current: 3 });
    });

    describe('a batch handed with its encoded parts (as the spool forwards it) is stored as without them', () => {
      // Recent, as live readings are (a store may take those another way than a backfill's).
      const T0 = Date.now() - (Date.now() % (60 * MIN)) - 2 * 60 * MIN;
      const mixed = (): Reading[] => [
        smoke('烟感-1', T0, { smoke: 0.12, temperature: 58, alarm: true }, { site: '安居小区', building: '3号楼', seq: 1 }),
        smoke('烟感-1', T0 + MIN, { smoke: 0.3 }, { site: '安居小区', building: '3号楼' }),
        smoke('sd-2', T0, { smoke: 0.5, co: 3 }),
        { device: 'bin-1', kind: 'smart_bin', site: '安居小区', building: '1号楼', category: 'kitchen', ts: T0, fields: { fill: 80, lid_open: false } },
        { device: 'wm-1', kind: 'water_meter', site: 's', building: 'b', ts: T0 + 5 * MIN, fields: { volume: 1234.5, flow: 0.25 } },
        { device: 'bin-1', kind: 'smart_bin', site: '安居小区', building: '1号楼', category: 'kitchen', ts: T0 + MIN, fields: { fill: 81 } },
      ];
      /** Parts of the given sizes, each the JSON text of its readings, as the spool's records hold them. */
      const encode = (batch: readonly Reading[], sizes: number[]): EncodedReadings[] => {
        let at = 0;
        return sizes.map((n) => {
          const part = batch.slice(at, (at += n));
          return { json: Buffer.from(JSON.stringify(part)), count: part.length };
        });
      };
      const stored = async () => {
        const out: unknown[] = [];
        for (const kind of ['smoke_detector', 'smart_bin', 'water_meter'] as const) {
          out.push(...(await store.series({ kind, from: 0, to: T0 + 60 * MIN })).map((p) => [kind, p.device, p.ts, p.values]));
        }
        return out;
      };

      it('parts of one kind each, several per kind: the same rows, names and categories as written', async () => {
        // Grouped by kind as the spool packs a group commit: smoke ×3 in two parts, bin, water, bin.
        const batch = mixed();
        const ordered = [batch[0]!, batch[1]!, batch[2]!, batch[3]!, batch[5]!, batch[4]!];
        await store.write(ordered, encode(ordered, [2, 1, 2, 1]));
        const withParts = await stored();
        expect(await store.latest('烟感-1')).toEqual(smoke('烟感-1', T0 + MIN, { smoke: 0.3 }, { site: '安居小区', building: '3号楼' }));
        expect(await store.latest('bin-1')).toEqual({ device: 'bin-1', kind: 'smart_bin', site: '安居小区', building: '1号楼', category: 'kitchen', ts: T0 + MIN, fields: { fill: 81 } });
        expect(withParts).toHaveLength(6);
        // The same batch without parts, on the same store, is a rewrite of the same rows: nothing changes.
        await store.write(ordered);
        expect(await stored()).toEqual(withParts);
      });

      it('a part that mixes kinds, a point repeated in the batch, a rewrite of a stored point: still the same rows', async () => {
        const batch = mixed();
        await store.write(batch, encode(batch, [3, 3]));
        const again = [smoke('sd-2', T0, { co: 9 }), smoke('sd-2', T0, { smoke: 0.7 }), smoke('sd-3', T0, { smoke: 0.1 })];
        await store.write(again, encode(again, [3]));
        expect((await store.latest('sd-2'))?.fields).toEqual({ smoke: 0.7, co: 9 });
        const rows = await stored();
        expect(rows.filter((r) => (r as unknown[])[0] === 'smoke_detector')).toHaveLength(4);
        expect(rows.filter((r) => (r as unknown[])[0] === 'smart_bin')).toHaveLength(2);
        expect((await store.latest('wm-1'))?.fields).toEqual({ volume: 1234.5, flow: 0.25 });
      });
    });

    it('a written reading survives close and reopen', async () => {
      await store.write([smoke('sd-1', T0, { smoke: 0.25, alarm: true }, { seq: 42 })]);
      store = await h.reopen();
      expect(await store.latest('sd-1')).toEqual(smoke('sd-1', T0, { smoke: 0.25, alarm: true }, { seq: 42 }));
      expect(await count('smoke_detector')).toBe(1);
    });
  });
}
