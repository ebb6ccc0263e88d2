import type { BinCategory } from '../kinds/index.js';
import type { Building, DeviceInput, Site } from '../registry.js';

/**
 * The demo community `npm start` runs: "Chundu Community" (春都社区), an older six-storey
 * compound of four residential buildings, each with two stairwells (units). Per building:
 * a smoke detector in each stairwell, kitchen detectors in four flats, a manual call point by the
 * ground-floor entrance, four household water meters under the site's master meter, a
 * common-lighting and an elevator power meter.
 * Site-wide: two bin stations with the four sorting categories, the master water meter,
 * the booster-pump power meter and a weather station.
 */

export interface Community {
  readonly site: Site;
  readonly buildings: readonly Building[];
  readonly devices: readonly DeviceInput[];
}

const SITE = 'chundu';
const MASTER_WATER = 'chundu-wm-master';
const buildingCount = 4;
const flats = ['101', '202', '301', '502'];
const categories: readonly BinCategory[] = ['recyclable', 'kitchen', 'hazardous', 'residual'];
const categoryZh: Record<BinCategory, string> = { recyclable: '可回收物', kitchen: '厨余垃圾', hazardous: '有害垃圾', residual: '其他垃圾' };

function buildingDevices(n: number): DeviceInput[] {
  const b = `b${n}`;
  const prefix = `chundu-${b}`;
  const devices: DeviceInput[] = [];
  for (const unit of [1, 2]) {
    devices.push({ id: `${prefix}-sd-u${unit}`, kind: 'smoke_detector', site: SITE, building: b, name: `${n}号楼${unit}单元楼梯间烟感`, location: `unit ${unit} stairwell 3F` });
  }
  devices.push({ id: `${prefix}-mcp-1`, kind: 'manual_call_point', site: SITE, building: b, name: `${n}号楼1层手动报警按钮`, location: 'entrance 1F' });
  for (const flat of flats) {
    devices.push({ id: `${prefix}-sd-${flat}`, kind: 'smoke_detector', site: SITE, building: b, name: `${n}-${flat} 厨房烟感`, location: `${flat} kitchen` });
    devices.push({ id: `${prefix}-wm-${flat}`, kind: 'water_meter', site: SITE, building: b, name: `${n}-${flat} 户表`, location: `${flat}`, purpose: 'household', q3: 2.5, parent: MASTER_WATER,
      // 阀控水表: every household meter has a motorised valve the platform may close (README, "Acting on devices").
      capabilities: ['valve'] });
  }
  devices.push({ id: `${prefix}-pm-light`, kind: 'power_meter', site: SITE, building: b, name: `${n}号楼公共照明`, location: 'distribution box 1F', purpose: 'common_lighting', rated_current: 16,
    capabilities: ['switch'] });
  devices.push({ id: `${prefix}-pm-lift`, kind: 'power_meter', site: SITE, building: b, name: `${n}号楼电梯`, location: 'machine room', purpose: 'elevator', rated_current: 32,
    // A switch, but an elevator's supply is never opened automatically (core/interlocks.ts).
    capabilities: ['switch'] });
  return devices;
}

function binStation(station: number, building: string): DeviceInput[] {
  return categories.map((category) => ({
    id: `chundu-bin${station}-${category}`,
    kind: 'smart_bin' as const,
    site: SITE,
    building,
    name: `${station}号垃圾分类站 ${categoryZh[category]}`,
    location: `bin station ${station}`,
    category,
  }));
}

export function chunduCommunity(): Community {
  const buildings: Building[] = Array.from({ length: buildingCount }, (_, i) => ({
    id: `b${i + 1}`, site: SITE, name: `${i + 1}号楼 Building ${i + 1}`, floors: 6,
  }));
  const devices: DeviceInput[] = [
    ...Array.from({ length: buildingCount }, (_, i) => buildingDevices(i + 1)).flat(),
    ...binStation(1, 'b1'),
    ...binStation(2, 'b3'),
    { id: MASTER_WATER, kind: 'water_meter', site: SITE, building: 'b1', name: '小区总水表', location: 'main inlet', purpose: 'master', q3: 40 },
    { id: 'chundu-pm-pump', kind: 'power_meter', site: SITE, building: 'b1', name: '二次供水泵房', location: 'pump room', purpose: 'water_pump', rated_current: 63 },
    // Outdoor temperature for the savings report's degree-day baselines.
    { id: 'chundu-ws-1', kind: 'weather_station', site: SITE, building: 'b1', name: '小区气象站', location: 'roof of building 1' },
  ];
  return {
    // A Shanghai-like climate (devices-sim's weather): the East China grid's CO₂ factor applies.
    site: { id: SITE, name: '春都社区 Chundu Community', address: 'Chundu Road, demo city', timezone: 'Asia/Shanghai', gridRegion: 'east' },
    buildings,
    devices,
  };
}
