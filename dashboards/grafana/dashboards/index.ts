import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { energyWaterDashboard } from './energy-water.js';
import { fireSafetyDashboard } from './fire-safety.js';
import { overviewDashboard } from './overview.js';
import { wasteDashboard } from './waste.js';

/** Every generated dashboard, by file name (`generated/<name>.json`). */
export const dashboards: Readonly<Record<string, () => Dashboard>> = {
  overview: overviewDashboard,
  'fire-safety': fireSafetyDashboard,
  waste: wasteDashboard,
  'energy-water': energyWaterDashboard,
};
