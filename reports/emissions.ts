import type { EmissionFactorInfo, ResolvedReportsConfig } from './contracts.js';

/**
 * Grid emission factors, kgCO₂/kWh, by key. `national-2023`: 0.5306 kgCO₂/kWh, the 2023 national
 * average grid factor published by China's Ministry of Ecology and Environment (MEE, with the
 * National Bureau of Statistics). Regional/provincial factors are added by key through
 * `customGridFactors` in the config (e.g. `east-china-2023`), with their year and source, so the
 * report always prints the factor, its year and where it comes from.
 */
export const gridFactors: Readonly<Record<string, { kgCO2PerKWh: number; year: number; source: string }>> = {
  'national-2023': { kgCO2PerKWh: 0.5306, year: 2023, source: 'MEE (China), national average grid emission factor for 2023' },
};

export function emissionFactor(config: ResolvedReportsConfig): EmissionFactorInfo {
  const table = { ...gridFactors, ...(config.customGridFactors ?? {}) };
  const f = Object.prototype.hasOwnProperty.call(table, config.gridFactor) ? table[config.gridFactor] : undefined;
  if (!f) throw new Error(`unknown grid emission factor "${config.gridFactor}"; known: ${Object.keys(table).join(', ')}`);
  // Water's CO₂ goes through the electricity it takes to supply it (kWh/m³, configurable: use the
  // local water company's figure; the default 0.6 kWh/m³ is an assumption, not a published value).
  return { key: config.gridFactor, kgCO2PerKWh: f.kgCO2PerKWh, year: f.year, source: f.source, waterKWhPerM3: config.waterKWhPerM3 };
}
