import { z } from 'zod';
import { binCategories, capabilityNames, idSchema, kindNames, meterPurposes, type Device, type KindName } from '../core/index.js';
import { roles } from '../storage/state/contract.js';

/**
 * Schemas shared by several routes. Request schemas reuse core's registry schemas (one source of
 * truth for what a device is); response schemas are deliberately plain (no id regexes), so a
 * record already in the store can always be answered — a response that fails its own schema
 * would be a 500 for the caller.
 */

/** `{error: {code, message}}` — DESIGN §3. `details` lists what to fix for validation errors. */
export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().describe('machine-readable: validation_failed, unauthorized, forbidden, not_found, conflict, ...'),
      message: z.string(),
      details: z.array(z.object({ in: z.string().optional(), path: z.string(), message: z.string() })).optional(),
      requestId: z.string().optional().describe('quote this when reporting a problem: it is in the server log'),
    }),
  })
  .meta({ id: 'Error' });

/** The 4xx answers every authenticated route can give; spread into a route's `response`. */
export const authErrors = { 400: errorSchema, 401: errorSchema, 403: errorSchema };

export const isoTime = z.string().describe('ISO 8601 UTC');
export const toIso = (ms: number): string => new Date(ms).toISOString();

/** limit/offset paging; `max` comes from the app config so operators can tighten it. */
export function pageQuery(max: number, defaultLimit = 50) {
  return {
    limit: z.coerce.number().int().min(1).max(max).default(Math.min(defaultLimit, max)),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  };
}

export const kindEnum = z.enum(kindNames as [KindName, ...KindName[]]);
export const roleEnum = z.enum(roles);

const deviceOut = z.object({
  id: z.string(),
  kind: kindEnum,
  site: z.string(),
  building: z.string(),
  name: z.string(),
  location: z.string().optional(),
  category: z.enum(binCategories).optional(),
  purpose: z.enum(meterPurposes).optional(),
  rated_current: z.number().optional(),
  q3: z.number().optional(),
  parent: z.string().optional(),
  capabilities: z.array(z.enum(capabilityNames)).optional().describe('what it can be commanded to do (README, "Acting on devices")'),
  createdAt: isoTime,
});
export const deviceOutSchema = deviceOut.meta({ id: 'Device' });
/** The answer to provisioning and secret rotation: the only times a device secret is shown. */
export const provisionedDeviceSchema = deviceOut
  .extend({ secret: z.string().describe('the device MQTT password: shown this once, stored only as a scrypt hash') })
  .meta({ id: 'ProvisionedDevice' });
export type DeviceOut = z.infer<typeof deviceOutSchema>;

/**
 * A stored device as the API shows it: times in ISO 8601, and absent attributes left out (a SQL
 * store hands back NULLs, which the optional fields of the schema would refuse).
 */
export function toDeviceOut(d: Device): DeviceOut {
  return { ...withoutNulls(d), createdAt: toIso(d.createdAt) } as DeviceOut;
}

export function withoutNulls<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== null && v !== undefined) out[k] = v;
  return out as T;
}

/** Route params `{id}`: the same id rules as the registry, so `a/b` or `a#b` are refused up front. */
export const idParams = z.object({ id: idSchema });

/** A device id as someone may have typed it (for searching logs), bounded but not pattern-checked. */
export const idSchemaLoose = z.string().min(1).max(256);
