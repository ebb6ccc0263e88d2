import { z } from 'zod';
import {
  binCategories, buildingSchema, deviceInputSchema, siteSchema, type Building, type DeviceInput, type Site,
} from '../core/index.js';
import { createRng, type Rng } from './random.js';

/**
 * Synthetic registries for `anju sim` at scale: the demo community's composition (core/demo/chundu.ts)
 * repeated over N sites and B buildings and densified to a device count. Per building: a smoke
 * detector in each of its 2 stairwells, a kitchen detector and a household water meter in each
 * equipped flat (under the site's master meter), a common-lighting and an elevator power meter.
 * Per site: one bin station (the four sorting categories) for every two buildings, the master water
 * meter and the booster-pump power meter. Everything not fixed by the counts (which flats are
 * equipped, ratings, names) is drawn from the seed: same arguments, same registry.
 */

export interface CommunityConfig {
  sites: number;
  /** Buildings per site; by default the demo's 4, or derived from `devices` (6-storey blocks of 24 flats). */
  buildings?: number;
  /** Total devices, exactly: flats per building are scaled to reach it. Default: the demo's 4 flats per building. */
  devices?: number;
  seed: number;
  /** Site ids are `{prefix}{n}` (default `sim`), so several synthetic runs can share a platform. */
  prefix?: string;
}

export interface Registry {
  readonly sites: readonly Site[];
  readonly buildings: readonly Building[];
  readonly devices: readonly DeviceInput[];
}

const UNITS = 2;
const DOORS = 2; // flats per unit per floor
const FLOORS = 6;
const DEMO_FLATS = 4;
const BUILDING_FIXED = UNITS + 3; // stairwell detectors + a manual call point + lighting + lift
const TYPICAL_BUILDING = BUILDING_FIXED + 2 * FLOORS * UNITS * DOORS + 2; // + its share of bins
const names = ['春华', '和平', '幸福', '阳光', '锦绣', '翠苑', '金桥', '梅园', '桂花', '滨江', '青枫', '新村'];
const categoryZh: Record<string, string> = { recyclable: '可回收物', kitchen: '厨余垃圾', hazardous: '有害垃圾', residual: '其他垃圾' };

const stationsOf = (buildings: number) => Math.ceil(buildings / 2);
// Per site: the bin stations, the master water meter, the booster pump and a weather station.
const siteFixed = (buildings: number) => 4 * stationsOf(buildings) + 3;

/** Plans flats per building so that the total is exactly `devices` (or the demo density). */
function plan(config: CommunityConfig): { buildings: number; flats: number[]; extraDetector: boolean } {
  const { sites, devices } = config;
  if (!Number.isInteger(sites) || sites < 1) throw new Error('sites must be a positive integer');
  let buildings = config.buildings ?? 4;
  if (config.buildings === undefined && devices !== undefined) buildings = Math.max(1, Math.round((devices / sites - 3) / TYPICAL_BUILDING));
  if (!Number.isInteger(buildings) || buildings < 1) throw new Error('buildings must be a positive integer');
  const count = sites * buildings;
  if (devices === undefined) return { buildings, flats: new Array<number>(count).fill(DEMO_FLATS), extraDetector: false };
  const least = sites * siteFixed(buildings) + count * (BUILDING_FIXED + 2);
  if (!Number.isInteger(devices) || devices < least) {
    throw new Error(`${sites} site(s) × ${buildings} building(s) need at least ${least} devices (one equipped flat per building); got ${devices}`);
  }
  const left = devices - sites * siteFixed(buildings) - count * BUILDING_FIXED;
  const total = Math.floor(left / 2);
  const flats = Array.from({ length: count }, (_, k) => Math.floor(total / count) + (k < total % count ? 1 : 0));
  // An odd remainder: one flat whose kitchen has a detector but whose water meter is not smart yet.
  return { buildings, flats, extraDetector: left % 2 === 1 };
}

/** Flat labels `{unit}-{floor}0{door}` (e.g. `2-301`): a seeded choice when the building has room, else every flat. */
function flatLabels(n: number, rng: Rng): { labels: string[]; floors: number } {
  const perFloor = UNITS * DOORS;
  const floors = Math.max(FLOORS, Math.ceil(n / perFloor));
  const positions = Array.from({ length: floors * perFloor }, (_, i) => i);
  for (let i = positions.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [positions[i], positions[j]] = [positions[j] as number, positions[i] as number];
  }
  const chosen = positions.slice(0, n).sort((a, b) => a - b);
  const labels = chosen.map((p) => {
    const floor = Math.floor(p / perFloor) + 1;
    const unit = Math.floor((p % perFloor) / DOORS) + 1;
    return `${unit}-${floor}0${(p % DOORS) + 1}`;
  });
  return { labels, floors };
}

export function createCommunity(config: CommunityConfig): Registry {
  const { buildings: perSite, flats, extraDetector } = plan(config);
  const prefix = config.prefix ?? 'sim';
  const sites: Site[] = [];
  const buildings: Building[] = [];
  const devices: DeviceInput[] = [];
  for (let s = 1; s <= config.sites; s++) {
    const site = `${prefix}${s}`;
    const rng = createRng(config.seed, 'community', site);
    const master = `${site}-wm-master`;
    sites.push({ id: site, name: `${rng.pick(names)}社区 ${s}`, address: `${s} Simulated Road`, timezone: 'Asia/Shanghai' });
    let households = 0;
    for (let b = 1; b <= perSite; b++) {
      const k = (s - 1) * perSite + (b - 1);
      const bid = `b${b}`;
      const p = `${site}-${bid}`;
      const brng = rng.fork(bid);
      const { labels, floors } = flatLabels(flats[k] ?? 0, brng);
      buildings.push({ id: bid, site, name: `${b}号楼 Building ${b}`, floors });
      for (let unit = 1; unit <= UNITS; unit++) {
        devices.push({ id: `${p}-sd-u${unit}`, kind: 'smoke_detector', site, building: bid, name: `${b}号楼${unit}单元楼梯间烟感`, location: `unit ${unit} stairwell ${Math.ceil(floors / 2)}F` });
      }
      devices.push({ id: `${p}-mcp-1`, kind: 'manual_call_point', site, building: bid, name: `${b}号楼1层手动报警按钮`, location: 'entrance 1F' });
      for (const flat of labels) {
        devices.push({ id: `${p}-sd-${flat}`, kind: 'smoke_detector', site, building: bid, name: `${b}-${flat} 厨房烟感`, location: `${flat} kitchen` });
        devices.push({ id: `${p}-wm-${flat}`, kind: 'water_meter', site, building: bid, name: `${b}-${flat} 户表`, location: flat, purpose: 'household', q3: brng.chance(0.8) ? 2.5 : 4, parent: master });
        households++;
      }
      if (extraDetector && k === config.sites * perSite - 1) {
        devices.push({ id: `${p}-sd-extra`, kind: 'smoke_detector', site, building: bid, name: `${b}号楼 厨房烟感 (无智能水表)`, location: 'kitchen' });
      }
      devices.push({ id: `${p}-pm-light`, kind: 'power_meter', site, building: bid, name: `${b}号楼公共照明`, location: 'distribution box 1F', purpose: 'common_lighting', rated_current: brng.pick([10, 16, 20]) });
      devices.push({ id: `${p}-pm-lift`, kind: 'power_meter', site, building: bid, name: `${b}号楼电梯`, location: 'machine room', purpose: 'elevator', rated_current: floors > 11 ? 63 : brng.pick([25, 32, 40]) });
    }
    for (let st = 1; st <= stationsOf(perSite); st++) {
      for (const category of binCategories) {
        devices.push({ id: `${site}-bin${st}-${category}`, kind: 'smart_bin', site, building: `b${2 * st - 1}`, name: `${st}号垃圾分类站 ${categoryZh[category]}`, location: `bin station ${st}`, category });
      }
    }
    const q3 = [40, 63, 100, 160, 250, 400].find((q) => q >= households * 0.25) ?? 400;
    devices.push({ id: master, kind: 'water_meter', site, building: 'b1', name: '小区总水表', location: 'main inlet', purpose: 'master', q3 });
    devices.push({ id: `${site}-pm-pump`, kind: 'power_meter', site, building: 'b1', name: '二次供水泵房', location: 'pump room', purpose: 'water_pump', rated_current: rng.pick([40, 63, 80]) });
    devices.push({ id: `${site}-ws-1`, kind: 'weather_station', site, building: 'b1', name: '小区气象站', location: 'roof of building 1' });
  }
  return { sites, buildings, devices };
}

const registrySchema = z.union([
  z.array(deviceInputSchema),
  z.object({ sites: z.array(siteSchema).optional(), buildings: z.array(buildingSchema).optional(), devices: z.array(deviceInputSchema) }),
]);

/**
 * A registry file: `{"devices": [...]}` (with optional `sites` and `buildings`) or a bare array of
 * devices, each as `POST /api/devices` takes it — without secrets (the strict schema refuses one).
 */
export function parseRegistry(text: string): Registry {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`);
  }
  const parsed = registrySchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  }
  const r = parsed.data;
  const devices = Array.isArray(r) ? r : r.devices;
  if (devices.length === 0) throw new Error('the registry has no devices');
  const ids = new Set(devices.map((d) => d.id));
  if (ids.size !== devices.length) throw new Error('device ids must be unique');
  return Array.isArray(r) ? { sites: [], buildings: [], devices } : { sites: r.sites ?? [], buildings: r.buildings ?? [], devices };
}
