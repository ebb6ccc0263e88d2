import { z } from 'zod';

/**
 * The audit trail: who did what to which thing, from where, when. Every successful change made
 * through the API (acknowledge, assign, comment, clear, a rule, a token, an account, a device, …)
 * is one entry; reads are not. Its action names come from the route (`auditAction`) so a new route
 * is audited without anyone remembering to.
 */

/** The API's resource folders as the audit names them (singular; `alerts` are alarms). */
const resources: Record<string, string> = {
  alerts: 'alarm', incidents: 'incident', devices: 'device', tokens: 'token', accounts: 'account', rules: 'rule', sites: 'site',
  'service-accounts': 'service_account', backups: 'backup', reports: 'report', session: 'session', demo: 'demo',
};

const methodVerbs: Record<string, string> = { POST: 'create', PUT: 'change', PATCH: 'change', DELETE: 'delete' };

/**
 * `alarm.ack` for `POST /api/alerts/:id/ack`, `account.password_reset` for
 * `POST /api/accounts/:id/password/reset`, `rule.sites_change` for `PUT /api/rules/sites/:site`,
 * `token.create` for `POST /api/tokens`: the resource, then the route's own words after it (a POST
 * to them is the action itself), else what the method does to the resource.
 */
export function auditAction(method: string, routeUrl: string): string {
  const segments = routeUrl.split('/').filter((s) => s !== '' && s !== 'api');
  const [first = 'api', ...rest] = segments;
  const resource = resources[first] ?? first.replace(/[^a-z0-9]+/gi, '_');
  const words = rest.filter((s) => !s.startsWith(':')).map((s) => s.replace(/[^a-z0-9]+/gi, '_'));
  const verb = methodVerbs[method] ?? method.toLowerCase();
  if (words.length === 0) return `${resource}.${verb}`;
  return method === 'POST' ? `${resource}.${words.join('_')}` : `${resource}.${words.join('_')}_${verb}`;
}

export interface AuditEntry {
  readonly ts: number;
  /** The account id of a person, or the API token's id for an integration. */
  readonly actor: string;
  /** The name shown: the person's display name or the token's name. */
  readonly actorName: string;
  readonly role: string;
  readonly action: string;
  /** The id the action was on (`:id` or `:site` of the route), when it has one. */
  readonly target?: string;
  readonly ip: string;
  readonly method: string;
  /** The path as requested, without its query string. */
  readonly path: string;
  readonly status: number;
}

export interface StoredAuditEntry extends AuditEntry {
  readonly seq: number;
}

const isoOrMs = z.union([z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)), z.coerce.number().int().nonnegative()]);

export const auditQuerySchema = z
  .object({
    actor: z.string().min(1).max(128).optional().describe('account or token id'),
    action: z.string().regex(/^[a-z0-9_.]{1,64}$/).optional().describe('exact action (`alarm.ack`), or a resource and dot for all of its actions (`alarm.`)'),
    from: isoOrMs.optional().describe('inclusive; ISO 8601 or epoch ms'),
    to: isoOrMs.optional().describe('exclusive; ISO 8601 or epoch ms'),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: '`from` must be before `to`', path: ['from'] });
