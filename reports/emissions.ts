import { gridEmissionFactors, gridFactorKey, gridFactorSource } from '../core/index.js';
import type { EmissionFactorInfo, ReportSite, ResolvedReportsConfig } from './contracts.js';

/**
 * The grid CO₂ factor of a site's savings report: its regional grid's published factor when the
 * registry names the region (core/emission-factors.ts: MEE/NBS 2023), else `config.gridFactor`
 * (the national average by default). `customGridFactors` in the config adds or overrides keys, with
 * their own year and source. The report prints the factor, its year and its source.
 */
export function emissionFactor(config: ResolvedReportsConfig, site?: Pick<ReportSite, 'gridRegion'>): EmissionFactorInfo {
  const key = site?.gridRegion ? gridFactorKey(site.gridRegion) : config.gridFactor;
  const custom = config.customGridFactors ?? {};
  const own = Object.prototype.hasOwnProperty.call(custom, key) ? custom[key] : undefined;
  const builtIn = Object.prototype.hasOwnProperty.call(gridEmissionFactors, key) ? gridEmissionFactors[key] : undefined;
  // Water's CO₂ goes through the electricity it takes to supply it (kWh/m³, configurable: use the
  // local water company's figure; the default 0.6 kWh/m³ is an assumption, not a published value).
  if (own) return { key, kgCO2PerKWh: own.kgCO2PerKWh, year: own.year, source: own.source, waterKWhPerM3: config.waterKWhPerM3 };
  if (builtIn) return { key, kgCO2PerKWh: builtIn.kgCO2PerKWh, year: builtIn.year, source: gridFactorSource.en, scope: builtIn.scope,
    waterKWhPerM3: config.waterKWhPerM3 };
  throw new Error(`unknown grid emission factor "${key}"; known: ${[...Object.keys(gridEmissionFactors), ...Object.keys(custom)].join(', ')}`);
}
