/**
 * China's published grid CO₂ emission factors for electricity consumption (kgCO₂/kWh), by year and
 * scope: the national average and the regional grid averages.
 *
 * Source: 生态环境部、国家统计局《关于发布2023年电力二氧化碳排放因子的公告》(Ministry of Ecology and
 * Environment and National Bureau of Statistics, announcement of the 2023 electricity CO₂ emission
 * factors). National average 2023: 0.5306 (2022: 0.5366). Regional 2023: North 0.6361, Northeast
 * 0.5122, East 0.5500, Central 0.5271, Northwest 0.5543, South 0.4042, Southwest 0.2472. These are
 * "average" factors (all generation in the region, including non-fossil), the ones the announcement
 * gives for accounting the CO₂ of electricity consumed; the national factor excluding market-traded
 * non-fossil power (0.6096) and the fossil-only factor (0.8273) answer other questions and are not
 * offered here.
 *
 * Conditions: a site's electricity comes from the regional grid its province belongs to (the
 * announcement's table maps provinces to the seven regional grids); where no region is set the
 * national average is the documented fallback. A plain module: no I/O.
 */

export const gridRegions = ['north', 'northeast', 'east', 'central', 'northwest', 'south', 'southwest'] as const;
export type GridRegion = (typeof gridRegions)[number];

export interface GridEmissionFactor {
  /** `national` or a regional grid. */
  readonly scope: 'national' | GridRegion;
  readonly year: number;
  readonly kgCO2PerKWh: number;
}

/** The publication every factor in the table comes from, in both report languages. */
export const gridFactorSource = {
  'zh-CN': '生态环境部、国家统计局《关于发布2023年电力二氧化碳排放因子的公告》',
  en: 'MEE and NBS (China), announcement of the 2023 electricity CO₂ emission factors',
} as const;

/** Names of the scopes, as the announcement names the regional grids. */
export const gridScopeNames: Readonly<Record<'zh-CN' | 'en', Readonly<Record<GridEmissionFactor['scope'], string>>>> = {
  'zh-CN': {
    national: '全国电力平均', north: '华北区域电网', northeast: '东北区域电网', east: '华东区域电网', central: '华中区域电网',
    northwest: '西北区域电网', south: '南方区域电网', southwest: '西南区域电网',
  },
  en: {
    national: 'national average', north: 'North China grid', northeast: 'Northeast China grid', east: 'East China grid',
    central: 'Central China grid', northwest: 'Northwest China grid', south: 'South China grid', southwest: 'Southwest China grid',
  },
};

/** The 2023 factors, keyed `<scope>-<year>` (the key reports print and config may name). */
export const gridEmissionFactors: Readonly<Record<string, GridEmissionFactor>> = {
  'national-2023': { scope: 'national', year: 2023, kgCO2PerKWh: 0.5306 },
  'north-2023': { scope: 'north', year: 2023, kgCO2PerKWh: 0.6361 },
  'northeast-2023': { scope: 'northeast', year: 2023, kgCO2PerKWh: 0.5122 },
  'east-2023': { scope: 'east', year: 2023, kgCO2PerKWh: 0.55 },
  'central-2023': { scope: 'central', year: 2023, kgCO2PerKWh: 0.5271 },
  'northwest-2023': { scope: 'northwest', year: 2023, kgCO2PerKWh: 0.5543 },
  'south-2023': { scope: 'south', year: 2023, kgCO2PerKWh: 0.4042 },
  'southwest-2023': { scope: 'southwest', year: 2023, kgCO2PerKWh: 0.2472 },
};

/** The latest published year in the table. */
export const latestGridFactorYear = 2023;

/** The factor key for a site: its region's latest factor, else the national average. */
export function gridFactorKey(region: GridRegion | undefined): string {
  return `${region ?? 'national'}-${latestGridFactorYear}`;
}
