import { z } from 'zod';
import { severities } from './alarms.js';
import { binCategories, kindNames, type KindName } from './kinds/index.js';

/**
 * The answers of `GET /api/sites/{id}/overview` and `/consumption` as they go on the wire: the API
 * validates and documents its answers with these schemas (OpenAPI `SiteOverview`,
 * `SiteConsumption`) and the control room (dashboards/web) reads them as the types below, so the
 * two cannot drift apart. Times are ISO 8601 UTC strings.
 */

const isoTime = z.string().describe('ISO 8601 UTC');

const counts = z.object({ total: z.number().int(), online: z.number().int(), offline: z.number().int(), never: z.number().int() });
const severityEnum = z.enum(severities);
const connectivity = z.enum(['online', 'offline', 'never']);

export const siteOverviewSchema = z
  .object({
    site: z.object({ id: z.string(), name: z.string(), timezone: z.string() }),
    generatedAt: isoTime,
    alarms: z.object({
      active: z.number().int(), bySeverity: z.record(severityEnum, z.number().int()),
      seq: z.number().int().describe('the last alarm event these counts include: a client painting live events onto them adds only later ones'),
    }),
    devices: counts.extend({ byKind: z.partialRecord(z.enum(kindNames as [KindName, ...KindName[]]), counts) }),
    buildings: z.array(
      z.object({
        id: z.string(), name: z.string(), floors: z.number().int().optional(),
        worst: severityEnum.nullable().describe('the most severe active alarm in the building, null when none'),
        activeAlarms: z.number().int(), devices: counts,
      }),
    ),
    binStats: z.partialRecord(z.enum(binCategories), z.object({ total: z.number().int(), reporting: z.number().int(), meanFill: z.number().nullable() }))
      .describe('per sorting category (bins without a category count as residual)'),
    binsTotal: z.number().int(),
    bins: z.array(
      z.object({
        id: z.string(), name: z.string(), building: z.string(), category: z.enum(binCategories).nullable(),
        fill: z.number().nullable(), ts: isoTime.nullable(), online: connectivity,
      }),
    ).describe('the fullest `bins` bins, fullest first'),
  })
  .meta({ id: 'SiteOverview' });

const utility = (unit: string) =>
  z.object({
    unit: z.literal(unit),
    today: z.array(z.number().nullable()).describe('use per local hour of `date`; null = no read (or not yet)'),
    compare: z.array(z.number().nullable()).describe('use per local hour of `compareDate`'),
    totalToday: z.number(),
    totalCompareSameHours: z.number().describe('compareDate up to the same time of day as `date` has reached (its current hour pro rata)'),
    totalCompare: z.number(),
    meters: z.number().int().describe('top-level meters summed (household meters under a master meter are not added again)'),
  });

export const siteConsumptionSchema = z
  .object({
    site: z.string(), timezone: z.string(), date: z.string(), compareDate: z.string().describe('the same weekday a week earlier'),
    hours: z.array(z.string()), energy: utility('kWh'), water: utility('m³'),
  })
  .meta({ id: 'SiteConsumption' });

export type SiteOverviewJson = z.infer<typeof siteOverviewSchema>;
export type DeviceCountsJson = Omit<SiteOverviewJson['devices'], 'byKind'>;
export type ConnectivityJson = z.infer<typeof connectivity>;
export type SiteConsumptionJson = z.infer<typeof siteConsumptionSchema>;
/** One utility of a consumption answer (energy in kWh, water in m³). */
export type ConsumptionSeriesJson = SiteConsumptionJson['energy'] | SiteConsumptionJson['water'];
