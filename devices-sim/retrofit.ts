import type { Device, KindName, MeterPurpose } from '../core/index.js';
import type { RateStep } from './kinds/index.js';

/**
 * Retrofits for backfilled history: from a date on, the consumption of the meters a retrofit
 * targets is multiplied by its factor — power and energy register alike (or flow and volume), so
 * registers stay monotonic and consistent and a savings report (IPMVP Option C) has a true,
 * known saving to find. Applied through the profiles' `scale` hook (kinds/common.ts), so the
 * master water meter and the booster pump see what low-flow fixtures save downstream.
 */
export interface Retrofit {
  /** Epoch ms from which the factor applies. */
  readonly at: number;
  readonly purpose?: MeterPurpose;
  /** Default: the kind that carries `field` (energy → power_meter, volume → water_meter). */
  readonly kind?: KindName;
  readonly factor: number;
  readonly field: 'energy' | 'volume';
  /** Optional narrowing to one site or building. */
  readonly site?: string;
  readonly building?: string;
  /** Preset name, for logs. */
  readonly name?: string;
}

export type RetrofitPreset = Omit<Retrofit, 'at'> & { readonly description: string };

/**
 * Presets, with conservative savings from published figures:
 * - `led`: common-area lighting from T8 fluorescent / CFL to LED, −40 % (the US DOE's solid-state
 *   lighting programme reports LED tubes and fixtures using 40–60 % less than the fluorescent ones
 *   they replace; stairwell motion sensors would add to it);
 * - `vfd`: a variable-frequency drive on the secondary-supply booster pump, −25 % (pump affinity
 *   laws, P ∝ n³; the US DOE / Hydraulic Institute "Variable Speed Pumping" guide reports 20–50 %
 *   savings on variable-demand systems such as building water supply);
 * - `lowflow`: water-efficient fixtures in the flats (GB 25502 grade-1 toilets, aerators,
 *   low-flow showerheads), −15 % household water (US EPA WaterSense labels ≥ 20 % less per
 *   fixture; not every draw is from a retrofitted fixture).
 */
export const retrofitPresets: Readonly<Record<string, RetrofitPreset>> = {
  led: { name: 'led', purpose: 'common_lighting', field: 'energy', factor: 0.6, description: 'LED common lighting −40 %' },
  vfd: { name: 'vfd', purpose: 'water_pump', field: 'energy', factor: 0.75, description: 'booster pump VFD −25 %' },
  lowflow: { name: 'lowflow', purpose: 'household', field: 'volume', factor: 0.85, description: 'low-flow fixtures −15 % household water' },
};

const kindOfField: Record<Retrofit['field'], KindName> = { energy: 'power_meter', volume: 'water_meter' };

/**
 * Parses `led:2026-03-01,vfd:2026-03-01,lowflow:2026-04-01` (a preset and the local date it takes
 * effect, at local midnight; `*0.5` after the date overrides the factor). Dates are local to
 * `utcOffsetMin` (default +480, Asia/Shanghai). Throws naming the presets and the format.
 */
export function parseRetrofits(spec: string, utcOffsetMin = 480): Retrofit[] {
  if (spec.trim() === '') return [];
  return spec.split(',').map((part) => {
    const m = /^([a-z]+):(\d{4})-(\d{2})-(\d{2})(?:\*(\d*\.?\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`cannot read retrofit "${part}": write preset:YYYY-MM-DD[*factor], e.g. led:2026-03-01`);
    const [, name, y, mo, d, factor] = m as unknown as [string, string, string, string, string, string | undefined];
    const preset = Object.prototype.hasOwnProperty.call(retrofitPresets, name) ? retrofitPresets[name] : undefined;
    if (!preset) throw new Error(`unknown retrofit "${name}"; known: ${Object.keys(retrofitPresets).join(', ')}`);
    const at = Date.UTC(Number(y), Number(mo) - 1, Number(d)) - utcOffsetMin * 60_000;
    const date = new Date(at + utcOffsetMin * 60_000);
    if (date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d)) throw new Error(`retrofit "${part}": no such date`);
    const f = factor === undefined ? preset.factor : Number(factor);
    if (!(f > 0 && f <= 10)) throw new Error(`retrofit "${part}": the factor must be in (0, 10]`);
    const { description: _description, ...rest } = preset;
    return { ...rest, at, factor: f };
  });
}

export function retrofitApplies(r: Retrofit, device: Device): boolean {
  return device.kind === (r.kind ?? kindOfField[r.field]) && kindOfField[r.field] === device.kind &&
    (r.purpose === undefined || device.purpose === r.purpose) &&
    (r.site === undefined || device.site === r.site) &&
    (r.building === undefined || device.building === r.building);
}

/** The consumption steps of one device: what `createProfiles({ scaleFor })` wants. */
export function retrofitSteps(retrofits: readonly Retrofit[], device: Device): RateStep[] {
  return retrofits.filter((r) => retrofitApplies(r, device)).map((r) => ({ at: r.at, factor: r.factor }));
}
