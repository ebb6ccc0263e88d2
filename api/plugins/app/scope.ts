import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { roleAtSite, roleRank, type Role, type RoleGrant } from '../../../core/index.js';
import { ApiError, notFound } from './errors.js';

/**
 * Site scope: what a caller may see and do, site by site. A person's account grants roles for some
 * sites or for every site (core/accounts); API tokens and MQTT service accounts hold their one role
 * over the whole deployment. Every route either applies the scope itself — it says so with
 * `config: { siteScoped: true }` and uses the helpers below — or is a whole-deployment route, which
 * the auth hook refuses (403) to anyone whose grants do not cover every site. A route someone adds
 * without thinking about sites is therefore closed to site-limited people, never open.
 *
 * Another site's things answer exactly what a thing that does not exist answers (404 with the same
 * body): a technician of one community must not learn that another community has a fire alarm.
 * Lists are filtered in the store query (before paging), so `total` and pages count only what the
 * caller sees.
 */

export interface Principal {
  readonly tokenId: string;
  readonly name: string;
  /** A person's name as operators see it (sessions only). */
  readonly displayName?: string;
  /** The highest role held at any site: what is shown, and what the audit trail records. */
  readonly role: Role;
  /** The roles by site; a token's is its role over every site. */
  readonly grants: readonly RoleGrant[];
  /** The sites the caller sees: `*` for every site (any grant over every site). */
  readonly sites: '*' | ReadonlySet<string>;
}

/** The role a set of grants gives over every site (grants with `"sites": "*"`), or undefined. */
export function roleOverAllSites(grants: readonly RoleGrant[]): Role | undefined {
  let best: Role | undefined;
  for (const g of grants) if (g.sites === '*' && (best === undefined || roleRank[g.role] > roleRank[best])) best = g.role;
  return best;
}

/** The principal of `grants`; undefined when they give no role at all. */
export function principalOf(tokenId: string, name: string, grants: readonly RoleGrant[], displayName?: string): Principal | undefined {
  let role: Role | undefined;
  for (const g of grants) if (role === undefined || roleRank[g.role] > roleRank[role]) role = g.role;
  if (role === undefined) return undefined;
  const sites = grants.some((g) => g.sites === '*') ? '*' : new Set(grants.flatMap((g) => (g.sites === '*' ? [] : g.sites)));
  return { tokenId, name, role, grants, sites, ...(displayName !== undefined ? { displayName } : {}) };
}

/** An API token's (or any whole-deployment caller's) principal: its role over every site. */
export const deploymentPrincipal = (tokenId: string, name: string, role: Role): Principal => ({ tokenId, name, role, grants: [{ role, sites: '*' }], sites: '*' });

/** A principal's grants and sites as JSON (`GET /api/session`, the log-in answer). */
export function scopeJson(p: Pick<Principal, 'grants' | 'sites'>): { grants: { role: Role; sites: '*' | string[] }[]; sites: '*' | string[] } {
  return {
    grants: p.grants.map((g) => ({ role: g.role, sites: g.sites === '*' ? ('*' as const) : [...g.sites] })),
    sites: p.sites === '*' ? '*' : [...p.sites].sort(),
  };
}

function who(request: FastifyRequest): Principal {
  const p = request.principal;
  if (!p) throw new ApiError(401, 'unauthorized', 'a bearer token is required');
  return p;
}

/** Does the caller see `site`? */
export function canSeeSite(request: FastifyRequest, site: string): boolean {
  const { sites } = who(request);
  return sites === '*' || sites.has(site);
}

/** Throws what a missing `what` throws (404 `not_found`, "<what> not found") when the caller does not see `site`. */
export function assertSiteVisible(request: FastifyRequest, site: string, what: string): void {
  if (!canSeeSite(request, site)) throw notFound(what);
}

/** The caller's role at `site` (the highest grant covering it), or undefined. */
export function roleAt(request: FastifyRequest, site: string): Role | undefined {
  return roleAtSite(who(request).grants, site);
}

/** 403 unless the caller holds `min` (or more) at `site`. Check visibility first where the thing exists. */
export function requireRoleAt(request: FastifyRequest, site: string, min: Role): void {
  const p = who(request);
  const has = roleAtSite(p.grants, site);
  if (has === undefined || roleRank[has] < roleRank[min]) {
    throw new ApiError(403, 'forbidden', `this needs the ${min} role at site ${site}; "${p.name}" has ${has ?? 'no role there'}`);
  }
}

/**
 * preHandler: 403 unless the caller holds `min` at some site — the early refusal of a per-site
 * action, before anything is looked up (the route then checks the site of what it acts on with
 * requireRoleAt).
 */
export function requireRoleSomewhere(min: Role): preHandlerAsyncHookHandler {
  return async (request) => {
    const p = who(request);
    if (roleRank[p.role] < roleRank[min]) throw new ApiError(403, 'forbidden', `this needs the ${min} role; "${p.name}" has ${p.role}`);
  };
}

/**
 * The site filter of a list query: the site asked for (if any) narrowed to the caller's sites. A
 * site the caller does not see yields an empty list, as a site without alarms would.
 */
export function siteFilter(request: FastifyRequest, asked?: string): { site?: string; sites?: readonly string[] } {
  const { sites } = who(request);
  if (sites === '*') return asked === undefined ? {} : { site: asked };
  if (asked !== undefined) return sites.has(asked) ? { site: asked } : { sites: [] };
  return { sites: [...sites] };
}

/** The caller's sites as a predicate (for streams and in-memory lists). */
export function siteVisibility(request: FastifyRequest): (site: string | undefined) => boolean {
  const { sites } = who(request);
  if (sites === '*') return () => true;
  return (site) => site !== undefined && sites.has(site);
}
