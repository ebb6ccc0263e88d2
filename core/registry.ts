import { z } from 'zod';
import { gridRegions } from './emission-factors.js';
import { binCategories, kindNames, type KindName } from './kinds/index.js';
import { idPattern } from './topics.js';
import { capabilityNames, kindCapabilities } from './commands.js';

/**
 * The registry model: sites (residential communities) → buildings → devices.
 * Defined once here; the API validates with these schemas, storage persists them, the simulator
 * and the demo fixture build them.
 */

export const idSchema = z.string().regex(idPattern, 'ids are 1–64 characters: letters, digits, "_", "-", "." (not first)');

/**
 * What a meter measures, so reports can split consumption by use, and what a circuit feeds, so
 * safety interlocks know what must keep power (fire pump, smoke extraction, emergency lighting:
 * core/interlocks.ts).
 */
export const meterPurposes = [
  'household', 'common_lighting', 'water_pump', 'elevator', 'master', 'other', 'fire_pump', 'smoke_extraction', 'emergency_lighting',
] as const;
export type MeterPurpose = (typeof meterPurposes)[number];

/**
 * How a device uses its MQTT connection, which decides what a disconnect means (alerts/rules/offline.ts):
 * - `persistent`: it stays connected (mains-powered meters, Wi-Fi and gateway devices); losing the
 *   connection without a DISCONNECT (its Will, a keep-alive timeout) is a fault;
 * - `periodic`: it connects to report and disconnects cleanly (battery NB-IoT / LTE-M devices);
 *   a disconnect is normal, and it is offline only when a report is missed.
 */
export const connectionModes = ['persistent', 'periodic'] as const;
export type ConnectionMode = (typeof connectionModes)[number];

/**
 * Why a device's presence changed, as the broker knows it (MQTT 3.1.1): `connected`; `clean` — it
 * sent DISCONNECT (§3.14: the Will is discarded, it left on purpose); `keepalive` — nothing heard
 * within 1.5 × its keep alive (§3.1.2.10); `lost` — the network connection closed without a
 * DISCONNECT (the case §3.1.2.5 publishes the Will for). With an external broker only the Will on
 * `devices/{id}/status` is seen, which is always `lost`.
 */
export const presenceCauses = ['connected', 'clean', 'keepalive', 'lost'] as const;
export type PresenceCause = (typeof presenceCauses)[number];

export const siteSchema = z.object({
  id: idSchema,
  name: z.string().min(1).max(200),
  address: z.string().max(500).optional(),
  /** IANA zone, for day boundaries in reports. */
  timezone: z.string().min(1).max(64).default('Asia/Shanghai'),
  /**
   * The regional power grid the site draws from (core/emission-factors.ts): its published CO₂
   * factor is used in savings reports; without one, the national average is.
   */
  gridRegion: z.enum(gridRegions).optional(),
});
export type Site = z.infer<typeof siteSchema>;

/** Body of `PATCH /api/sites/{id}`: what an operator may change about a site (`gridRegion: null` unsets it). */
export const sitePatchSchema = z
  .object({
    name: siteSchema.shape.name,
    address: siteSchema.shape.address.unwrap(),
    timezone: z.string().min(1).max(64).refine((tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'must be an IANA time zone such as Asia/Shanghai'),
    gridRegion: z.enum(gridRegions).nullable(),
  })
  .partial()
  .strict();
export type SitePatch = z.infer<typeof sitePatchSchema>;

export const buildingSchema = z.object({
  id: idSchema,
  site: idSchema,
  name: z.string().min(1).max(200),
  floors: z.number().int().min(1).max(200).optional(),
});
export type Building = z.infer<typeof buildingSchema>;

const deviceFields = {
  id: idSchema,
  kind: z.enum(kindNames as [KindName, ...KindName[]]),
  site: idSchema,
  building: idSchema,
  name: z.string().min(1).max(200).optional(),
  /** Floor / unit / place label, e.g. "3F stairwell" or "2-301 kitchen". */
  location: z.string().max(200).optional(),
  /** Smart bins: the sorting category of the bin. */
  category: z.enum(binCategories).optional(),
  /** Meters: what the metered circuit or pipe serves. */
  purpose: z.enum(meterPurposes).optional(),
  /** Power meters: the protected circuit's rated current in A (overload rule). */
  rated_current: z.number().positive().max(10_000).optional(),
  /** Water meters: permanent flow rate Q3 in m³/h (ISO 4064; burst rule). */
  q3: z.number().positive().max(10_000).optional(),
  /** Water meters: the master meter this household meter hangs under (compound balance). */
  parent: idSchema.optional(),
  /** Seconds between two reports when the device differs from its kind (an NB-IoT detector reporting every 4 h); offline detection uses it. */
  report_interval_s: z.number().int().min(1).max(7 * 86_400).optional(),
  /** `persistent` (default) or `periodic`: see connectionModes. */
  connection: z.enum(connectionModes).optional(),
  /** What the device can be commanded to do (core/commands.ts): `valve`, `switch`, `hush`, `self_test`. */
  capabilities: z.array(z.enum(capabilityNames)).max(capabilityNames.length).optional(),
};

/** Kind-specific attributes only make sense on their kind: say so instead of storing nonsense. */
function checkKindAttributes(
  d: { kind?: string; category?: unknown; purpose?: unknown; rated_current?: unknown; q3?: unknown; capabilities?: readonly string[] },
  ctx: z.RefinementCtx,
): void {
  const wrong = (field: string, only: string) =>
    ctx.addIssue({ code: 'custom', path: [field], message: `${field} applies to ${only} only` });
  if (d.kind === undefined) return;
  if (d.category !== undefined && d.kind !== 'smart_bin') wrong('category', 'smart_bin');
  if (d.purpose !== undefined && d.kind !== 'water_meter' && d.kind !== 'power_meter') wrong('purpose', 'water_meter and power_meter');
  if (d.rated_current !== undefined && d.kind !== 'power_meter') wrong('rated_current', 'power_meter');
  if (d.q3 !== undefined && d.kind !== 'water_meter') wrong('q3', 'water_meter');
  const fits: readonly string[] = kindCapabilities[d.kind as KindName] ?? [];
  for (const c of d.capabilities ?? []) {
    if (!fits.includes(c)) ctx.addIssue({ code: 'custom', path: ['capabilities'], message: `a ${d.kind} cannot have the ${c} capability (it may have: ${fits.join(', ') || 'none'})` });
  }
  if (d.kind === 'smart_bin' && d.category === undefined) {
    ctx.addIssue({ code: 'custom', path: ['category'], message: `a smart_bin needs a category: ${binCategories.join(', ')}` });
  }
}

/** Body of `POST /api/devices`. */
export const deviceInputSchema = z.object(deviceFields).strict().superRefine(checkKindAttributes);
export type DeviceInput = z.infer<typeof deviceInputSchema>;

/** Body of `PATCH /api/devices/{id}`: id and kind are fixed for a device's life. */
export const devicePatchSchema = z
  .object({
    site: deviceFields.site, building: deviceFields.building, name: deviceFields.name.unwrap(),
    location: deviceFields.location.unwrap(), category: deviceFields.category.unwrap(), purpose: deviceFields.purpose.unwrap(),
    rated_current: deviceFields.rated_current.unwrap(), q3: deviceFields.q3.unwrap(), parent: deviceFields.parent.unwrap(),
    report_interval_s: deviceFields.report_interval_s.unwrap(), connection: deviceFields.connection.unwrap(),
    capabilities: deviceFields.capabilities.unwrap(),
  })
  .partial()
  .strict();
export type DevicePatch = z.infer<typeof devicePatchSchema>;

/** A registered device as the platform knows it (never carries its secret). */
export const deviceSchema = z.object({
  ...deviceFields,
  name: z.string(),
  createdAt: z.number().int(),
});
export type Device = z.infer<typeof deviceSchema>;

export { checkKindAttributes };
