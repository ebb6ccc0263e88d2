import { roleAtSite } from '../../core/accounts.js';
import { CodedError, type ErrorDetail } from '../../core/errors.js';
import { roleRank, type Role } from '../../core/roles.js';
import type { Roster } from '../../core/roster.js';
import type { AccountRecord, AccountStore } from '../../storage/accounts/contract.js';

/**
 * People as the API names them in assignments and rosters: an account id that must exist, be
 * enabled and hold a role at the site concerned. The answers are coded: an account that cannot
 * serve the site is 422 `not_at_site`, a roster naming such people 422 `unknown_people` with one
 * detail per name. Whether the account does not exist, is disabled or serves other sites is NOT
 * said: an operator of one site would otherwise learn, one guess at a time, which login names exist
 * at other sites and which are disabled (an enumeration oracle). Administrators see accounts whole
 * in GET /api/accounts.
 */

export class PeopleError extends CodedError {
  override name = 'PeopleError';
  constructor(code: 'not_at_site' | 'unknown_people' | 'no_account', message: string, details?: readonly ErrorDetail[]) {
    super(code, 'unprocessable', message, details ? { details } : undefined);
  }
}

export interface People {
  /** The account `id`, when it may be assigned work at `site`; throws PeopleError otherwise. */
  assignable(id: string, site: string): Promise<AccountRecord>;
  /** Refuses a roster naming anyone who is not an enabled account with a role at its site. */
  checkRoster(roster: Roster): Promise<void>;
  /** Display names by account id (those found). */
  names(ids: readonly string[]): Promise<Map<string, string>>;
  /**
   * Everyone who may be named at `site` — enabled, with a role there (at least `atLeast`) — with that
   * role, by display name (pinyin order for Chinese names), then id.
   */
  atSite(site: string, atLeast?: Role): Promise<SitePerson[]>;
}

/** A person as a site's lists show them: no login, no contacts. */
export interface SitePerson { readonly id: string; readonly displayName: string; readonly role: Role }

/** The account id behind a session principal (`account:<id>`), undefined for an API token. */
export const principalAccount = (p: { tokenId: string } | null): string | undefined =>
  p?.tokenId.startsWith('account:') ? p.tokenId.slice('account:'.length) : undefined;

/** `assignee=me`: the caller's own account id; refused (422 `no_account`) for a caller that is not a person. */
export function resolveAssignee(assignee: string | undefined, principal: { tokenId: string } | null): string | undefined {
  if (assignee !== 'me') return assignee;
  const id = principalAccount(principal);
  if (id === undefined) throw new PeopleError('no_account', '`assignee=me` needs a person logged in (a session); an API token is not one: name the account instead');
  return id;
}

const byName = new Intl.Collator('zh-CN');

/** The one answer for an account that cannot serve a site, whatever the reason (see above). */
const cannotServe = (site: string): string => `no enabled account with a role at site ${site} has this id`;

export function createPeople(deps: { accounts: Pick<AccountStore, 'get' | 'all'> }): People {
  const serving = async (id: string, site: string): Promise<AccountRecord | undefined> => {
    const a = await deps.accounts.get(id);
    return a && !a.disabled && roleAtSite(a.grants, site) !== undefined ? a : undefined;
  };
  return {
    async assignable(id, site) {
      const a = await serving(id, site);
      if (!a) throw new PeopleError('not_at_site', `cannot assign work at site ${site} to ${id}: ${cannotServe(site)}`);
      return a;
    },
    async checkRoster(roster) {
      const details: ErrorDetail[] = [];
      const check = async (ids: readonly string[], path: string) => {
        for (const [k, id] of ids.entries()) {
          if (!(await serving(id, roster.site))) details.push({ in: 'body', path: `${path}.${k}`, message: `${id}: ${cannotServe(roster.site)}` });
        }
      };
      for (const [n, s] of roster.shifts.entries()) await check(s.people, `shifts.${n}.people`);
      for (const [n, e] of roster.exceptions.entries()) await check(e.people, `exceptions.${n}.people`);
      await check(roster.managers, 'managers');
      if (details.length > 0) throw new PeopleError('unknown_people', `the roster names ${details.length} people who cannot serve site ${roster.site}`, details);
    },
    async names(ids) {
      const out = new Map<string, string>();
      for (const id of new Set(ids)) {
        const a = await deps.accounts.get(id);
        if (a) out.set(id, a.displayName);
      }
      return out;
    },
    async atSite(site, atLeast) {
      const out = (await deps.accounts.all()).flatMap((a): SitePerson[] => {
        const role = a.disabled ? undefined : roleAtSite(a.grants, site);
        if (role === undefined || (atLeast !== undefined && roleRank[role] < roleRank[atLeast])) return [];
        return [{ id: a.id, displayName: a.displayName, role }];
      });
      return out.sort((a, b) => byName.compare(a.displayName, b.displayName) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },
  };
}
