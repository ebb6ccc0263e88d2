import { expect, it } from 'vitest';
import { withContract, type StoreHarness } from './contract-scaffold.js';
import type { DeviceInput, Site } from '../../core/index.js';
import { DuplicateError, type ApiToken, type StateStore } from '../../storage/state/contract.js';

/**
 * The abstract StateStore suite (registry, device secret hashes, API tokens): every implementation
 * (embedded DuckDB now, PostgreSQL in cluster mode next) runs it through its own `*.test.ts`,
 * unchanged, speaking only through the contract. `open` gives a fresh, empty store; `reopen`
 * restarts it on the same storage; `cleanup` closes and removes. Lists are ordered by id (tokens
 * by creation time), so a page is stable between two calls.
 */
export type StateStoreHarness = StoreHarness<StateStore>;

const T0 = Date.UTC(2025, 4, 1);
const site = (id: string, over: Partial<Site> = {}): Site => ({ id, name: `社区 ${id}`, timezone: 'Asia/Shanghai', ...over });
const smoke = (id: string, over: Partial<DeviceInput> = {}): DeviceInput => ({ id, kind: 'smoke_detector', site: 's1', building: 'b1', ...over });
const token = (id: string, createdAt: number, role: ApiToken['role'] = 'operator'): ApiToken => ({ id, name: `token ${id}`, role, createdAt });
const all = { limit: 1_000, offset: 0 };

export function stateStoreContract(name: string, open: () => Promise<StateStoreHarness>): void {
  withContract(`StateStore contract: ${name}`, open, (c) => {

    it('starts empty and answers "not found" as undefined or false, never by throwing', async () => {
      expect(await c.store.listSites(all)).toEqual({ items: [], total: 0 });
      expect(await c.store.getSite('nope')).toBeUndefined();
      expect(await c.store.updateSite('nope', { name: 'x' })).toBeUndefined();
      expect(await c.store.listBuildings('nope', all)).toEqual({ items: [], total: 0 });
      expect(await c.store.getDevice('nope')).toBeUndefined();
      expect(await c.store.updateDevice('nope', { name: 'x' })).toBeUndefined();
      expect(await c.store.deleteDevice('nope')).toBe(false);
      expect(await c.store.getDeviceSecretHash('nope')).toBeUndefined();
      expect(await c.store.allDevices()).toEqual([]);
      expect(await c.store.findTokenByHash('nope')).toBeUndefined();
      expect(await c.store.deleteToken('nope')).toBe(false);
      expect(await c.store.listTokens()).toEqual([]);
    });

    it('sites: upsert is idempotent and replaces, update changes only what it is given, null unsets the grid region', async () => {
      await c.store.upsertSite(site('s2'));
      await c.store.upsertSite(site('s1', { address: '春都路 1 号', gridRegion: 'east' }));
      await c.store.upsertSite(site('s1', { address: '春都路 1 号', gridRegion: 'east' }));
      expect(await c.store.listSites(all)).toEqual({ items: [site('s1', { address: '春都路 1 号', gridRegion: 'east' }), site('s2')], total: 2 });
      expect(await c.store.updateSite('s1', { timezone: 'Asia/Urumqi' })).toEqual(site('s1', { address: '春都路 1 号', gridRegion: 'east', timezone: 'Asia/Urumqi' }));
      expect(await c.store.updateSite('s1', { gridRegion: null })).toEqual(site('s1', { address: '春都路 1 号', timezone: 'Asia/Urumqi' }));
      expect(await c.store.getSite('s1')).toEqual(site('s1', { address: '春都路 1 号', timezone: 'Asia/Urumqi' }));
      const page = await c.store.listSites({ limit: 1, offset: 1 });
      expect(page).toEqual({ items: [site('s2')], total: 2 });
      // A caller's site scope: only the ids given, counted before paging; none matches nothing.
      expect(await c.store.listSites({ limit: 10, offset: 0, ids: ['s2', 'nowhere'] })).toEqual({ items: [site('s2')], total: 1 });
      expect(await c.store.listSites({ limit: 10, offset: 1, ids: ['s2'] })).toEqual({ items: [], total: 1 });
      expect(await c.store.listSites({ limit: 10, offset: 0, ids: [] })).toEqual({ items: [], total: 0 });
    });

    it('buildings: per site, the same id in two sites is two buildings, upsert replaces', async () => {
      await c.store.upsertBuilding({ id: 'b2', site: 's1', name: '2号楼' });
      await c.store.upsertBuilding({ id: 'b1', site: 's1', name: '1号楼' });
      await c.store.upsertBuilding({ id: 'b1', site: 's2', name: '别的 1号楼', floors: 6 });
      await c.store.upsertBuilding({ id: 'b1', site: 's1', name: '1号楼', floors: 18 });
      expect(await c.store.listBuildings('s1', all)).toEqual({
        items: [{ id: 'b1', site: 's1', name: '1号楼', floors: 18 }, { id: 'b2', site: 's1', name: '2号楼' }], total: 2,
      });
      expect(await c.store.listBuildings('s2', { limit: 10, offset: 0 })).toEqual({ items: [{ id: 'b1', site: 's2', name: '别的 1号楼', floors: 6 }], total: 1 });
      expect(await c.store.listBuildings('s1', { limit: 1, offset: 1 })).toEqual({ items: [{ id: 'b2', site: 's1', name: '2号楼' }], total: 2 });
    });

    it('devices: created with the name defaulting to the id, attributes kept, a duplicate id refused', async () => {
      const meter: DeviceInput = { id: 'pm-1', kind: 'power_meter', site: 's1', building: 'b1', name: '1号楼 总表', location: '配电室', purpose: 'common_lighting', rated_current: 63 };
      expect(await c.store.createDevice(meter, 'hash-1', T0)).toEqual({ ...meter, createdAt: T0 });
      expect(await c.store.createDevice(smoke('sd-1'), 'hash-2', T0 + 1)).toEqual({ ...smoke('sd-1'), name: 'sd-1', createdAt: T0 + 1 });
      await expect(c.store.createDevice(smoke('sd-1', { building: 'b9' }), 'other', T0)).rejects.toBeInstanceOf(DuplicateError);
      expect(await c.store.getDevice('sd-1')).toEqual({ ...smoke('sd-1'), name: 'sd-1', createdAt: T0 + 1 });
      expect(await c.store.getDeviceSecretHash('sd-1')).toBe('hash-2');
    });

    it('devices: two concurrent creations of one id — exactly one wins, the other is a DuplicateError', async () => {
      const race = await Promise.allSettled([c.store.createDevice(smoke('sd-x'), 'h1', T0), c.store.createDevice(smoke('sd-x'), 'h2', T0)]);
      expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect((race.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateError);
      expect(['h1', 'h2']).toContain(await c.store.getDeviceSecretHash('sd-x'));
      // Many different devices at once all land.
      await Promise.all(Array.from({ length: 30 }, (_, i) => c.store.createDevice(smoke(`c-${String(i).padStart(2, '0')}`), `h${i}`, T0)));
      expect((await c.store.listDevices({ ...all, site: 's1' })).total).toBe(31);
    });

    it('devices: list filters by site, building and kind, ordered by id, pages with the full total', async () => {
      await c.store.createDevice(smoke('sd-3', { site: 's2' }), 'h', T0);
      await c.store.createDevice(smoke('sd-1'), 'h', T0);
      await c.store.createDevice(smoke('sd-2', { building: 'b2' }), 'h', T0);
      await c.store.createDevice({ id: 'bin-1', kind: 'smart_bin', site: 's1', building: 'b1', category: 'kitchen' }, 'h', T0);
      const ids = async (f: Partial<Parameters<StateStore['listDevices']>[0]>) => (await c.store.listDevices({ ...all, ...f })).items.map((d) => d.id);
      expect(await ids({})).toEqual(['bin-1', 'sd-1', 'sd-2', 'sd-3']);
      expect(await ids({ site: 's1' })).toEqual(['bin-1', 'sd-1', 'sd-2']);
      expect(await ids({ site: 's1', building: 'b1' })).toEqual(['bin-1', 'sd-1']);
      expect(await ids({ kind: 'smart_bin' })).toEqual(['bin-1']);
      expect(await ids({ kind: 'water_meter' })).toEqual([]);
      expect(await ids({ sites: ['s2', 'nowhere'] })).toEqual(['sd-3']);
      expect(await ids({ sites: [] })).toEqual([]);
      expect(await c.store.listDevices({ limit: 1, offset: 2, sites: ['s1'] })).toMatchObject({ total: 3, items: [{ id: 'sd-2' }] });
      expect(await c.store.listDevices({ limit: 2, offset: 1, site: 's1' })).toMatchObject({ total: 3, items: [{ id: 'sd-1' }, { id: 'sd-2' }] });
      expect((await c.store.allDevices()).map((d) => d.id)).toEqual(['bin-1', 'sd-1', 'sd-2', 'sd-3']);
    });

    it('devices: update changes only what the patch gives; delete removes the device and its secret', async () => {
      await c.store.createDevice(smoke('sd-1', { location: '厨房' }), 'h', T0);
      expect(await c.store.updateDevice('sd-1', { building: 'b2', name: '301 厨房烟感' })).toEqual({
        ...smoke('sd-1', { location: '厨房' }), building: 'b2', name: '301 厨房烟感', createdAt: T0,
      });
      expect(await c.store.updateDevice('sd-1', {})).toMatchObject({ building: 'b2', location: '厨房' });
      await c.store.setDeviceSecretHash('sd-1', 'rotated');
      expect(await c.store.getDeviceSecretHash('sd-1')).toBe('rotated');
      expect(await c.store.deleteDevice('sd-1')).toBe(true);
      expect(await c.store.deleteDevice('sd-1')).toBe(false);
      expect(await c.store.getDevice('sd-1')).toBeUndefined();
      expect(await c.store.getDeviceSecretHash('sd-1')).toBeUndefined();
      // The id is free again.
      await c.store.createDevice(smoke('sd-1'), 'new', T0 + 5);
      expect(await c.store.getDeviceSecretHash('sd-1')).toBe('new');
    });

    it('tokens: found by hash only, listed by creation time without their hash, a duplicate id or hash refused', async () => {
      await c.store.createToken(token('t2', T0 + 1, 'admin'), 'hash-b');
      await c.store.createToken(token('t1', T0), 'hash-a');
      expect(await c.store.findTokenByHash('hash-a')).toEqual(token('t1', T0));
      expect(await c.store.findTokenByHash('t1')).toBeUndefined();
      expect(await c.store.listTokens()).toEqual([token('t1', T0), token('t2', T0 + 1, 'admin')]);
      await expect(c.store.createToken(token('t1', T0 + 2), 'hash-c')).rejects.toBeInstanceOf(DuplicateError);
      await expect(c.store.createToken(token('t3', T0 + 2), 'hash-a')).rejects.toBeInstanceOf(DuplicateError);
      expect(await c.store.deleteToken('t1')).toBe(true);
      expect(await c.store.findTokenByHash('hash-a')).toBeUndefined();
      expect((await c.store.listTokens()).map((t) => t.id)).toEqual(['t2']);
    });

    it('everything survives a restart', async () => {
      await c.store.upsertSite(site('s1'));
      await c.store.upsertBuilding({ id: 'b1', site: 's1', name: '1号楼' });
      await c.store.createDevice(smoke('sd-1'), 'h1', T0);
      await c.store.createToken(token('t1', T0), 'th');
      await c.reopen();
      expect(await c.store.getSite('s1')).toEqual(site('s1'));
      expect((await c.store.listBuildings('s1', all)).total).toBe(1);
      expect(await c.store.getDeviceSecretHash('sd-1')).toBe('h1');
      expect(await c.store.findTokenByHash('th')).toEqual(token('t1', T0));
      await expect(c.store.createDevice(smoke('sd-1'), 'h2', T0)).rejects.toBeInstanceOf(DuplicateError);
    });
  });
}
