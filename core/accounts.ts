import { z } from 'zod';
import { idSchema } from './registry.js';
import { roleRank, roles, type Role } from './roles.js';

/**
 * People who log in to the control room: a login name, how to reach them (phone, WeCom and
 * DingTalk user ids for the notifiers), and roles each scoped to sites. A grant names the sites it
 * holds for, or `*` for every site; a person's rights at a site are the highest role any of their
 * grants gives there. The password is never part of these: it is set through its own route and
 * stored only as a scrypt hash (core/secrets hashPassword).
 */

export const roleGrantSchema = z
  .object({
    role: z.enum(roles),
    sites: z.union([z.literal('*'), z.array(idSchema).min(1).max(500)]).describe('site ids this role holds for, or "*" for every site'),
  })
  .strict();
export type RoleGrant = z.infer<typeof roleGrantSchema>;

/** Login names: lower-case so `Zhang.Wei` and `zhang.wei` cannot be two people. */
export const loginSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._@-]{0,63}$/, 'a login is 1–64 characters: lower-case letters, digits, ".", "_", "@", "-" (not first)');

// NIST SP 800-63B §5.1.1.2: at least 8 characters, allow at least 64; we cap at 256 only to bound the hash input.
export const passwordSchema = z.string().min(8, 'a password has at least 8 characters (NIST SP 800-63B §5.1.1.2)').max(256);

const optionalText = (max: number) => z.string().trim().min(1).max(max);

export const accountFieldsSchema = z.object({
  displayName: optionalText(64).describe('the name operators see, e.g. 张伟'),
  phone: z.string().regex(/^\+?[0-9 -]{5,20}$/, 'a phone number: digits, spaces, "-", optional leading "+"').optional(),
  wecomUserId: optionalText(64).optional().describe('WeCom (企业微信) userid, for notifications'),
  dingtalkUserId: optionalText(64).optional().describe('DingTalk (钉钉) userid, for notifications'),
  grants: z.array(roleGrantSchema).max(32).describe('roles scoped to sites'),
  disabled: z.boolean().optional().describe('a disabled person cannot log in; their history stays'),
});

export const accountInputSchema = accountFieldsSchema
  .extend({
    id: idSchema.describe('stable id; defaults to the login'),
    login: loginSchema,
    password: passwordSchema.optional().describe('initial password; without one the person cannot log in until it is set'),
  })
  .partial({ id: true })
  .strict();
export type AccountInput = z.infer<typeof accountInputSchema>;

export const accountPatchSchema = accountFieldsSchema.extend({ login: loginSchema }).partial().strict()
  .refine((v) => Object.keys(v).length > 0, 'nothing to change');
export type AccountPatch = z.infer<typeof accountPatchSchema>;

/** The role a person holds at `site` (the highest of the grants covering it), or undefined. */
export function roleAtSite(grants: readonly RoleGrant[], site: string): Role | undefined {
  let best: Role | undefined;
  for (const g of grants) {
    if (g.sites !== '*' && !g.sites.includes(site)) continue;
    if (best === undefined || roleRank[g.role] > roleRank[best]) best = g.role;
  }
  return best;
}
