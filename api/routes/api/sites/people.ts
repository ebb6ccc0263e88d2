import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccountStore } from '../../../../storage/accounts/contract.js';
import { notFound } from '../../../plugins/app/errors.js';
import { assertSiteVisible } from '../../../plugins/app/scope.js';
import { authErrors, errorSchema, idParams, pageQuery, roleEnum } from '../../../schemas.js';
import { createPeople } from '../../../services/people.js';
import type { RouteOptions } from '../../../types.js';

/**
 * `GET /api/sites/{id}/people`: who can be named at a site — the enabled accounts holding a role
 * there (a grant naming the site, or one over every site), with that role. It is what the control
 * room's "assign" picker and roster editor offer, and the same set `assign {accountId}` and
 * `PUT …/roster` accept (api/services/people.ts).
 *
 * Any role at the site may read it (a technician sees who their colleagues are, as the roster shows
 * them); another site answers as a site that does not exist. The answer is the same for every caller:
 * id, display name and role at the site — never the login, contacts (phone, WeCom, DingTalk ids) or
 * anything about passwords, not even for an admin. Contacts are how notifiers reach people, not what
 * a picker needs; an admin over every site reads them at `/api/accounts`, and a site's admin — whose
 * colleagues may also serve sites they do not administer — does not.
 */

export interface SitePeopleRouteOptions extends RouteOptions {
  readonly accounts: AccountStore;
}

const personSchema = z.object({
  id: z.string().describe('the account id: what `assign {accountId}` and a roster name'),
  displayName: z.string(),
  role: roleEnum.describe('the highest role the person holds at this site'),
}).meta({ id: 'SitePerson' });

export const sitePeopleRoutes: FastifyPluginAsyncZod<SitePeopleRouteOptions> = async (app, { config, deps, accounts }) => {
  const { state } = deps;
  const people = createPeople({ accounts });
  app.get('/:id/people', {
    config: { siteScoped: true },
    schema: {
      tags: ['sites'],
      summary: 'The people of a site: enabled accounts with a role there, by display name (any role at the site)',
      description: 'Each with its id, display name and role at the site; no contacts or logins, whoever asks (admins read those at /api/accounts).',
      params: idParams,
      querystring: z.object({
        role: roleEnum.optional().describe('only those holding at least this role at the site (maintenance: who may acknowledge and clear)'),
        ...pageQuery(config.maxListLimit),
      }),
      response: { 200: z.object({ items: z.array(personSchema), total: z.number().int() }), 404: errorSchema, ...authErrors },
    },
  }, async (request) => {
    const { id } = request.params;
    const { role: atLeast, limit, offset } = request.query;
    assertSiteVisible(request, id, `site ${id}`);
    if (!(await state.getSite(id))) throw notFound(`site ${id}`);
    const all = await people.atSite(id, atLeast);
    return { items: all.slice(offset, offset + limit), total: all.length };
  });
};
