import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { accountInputSchema, accountPatchSchema, idSchema, passwordSchema, roleGrantSchema } from '../../../../core/index.js';
import { generateSecret, hashPassword } from '../../../../core/secrets.js';
import { createSerialQueue } from '../../../../core/util/index.js';
import type { AccountRecord, AccountStore, AccountWithPassword } from '../../../../storage/index.js';
import { requireRole } from '../../../plugins/app/auth.js';
import { ApiError, notFound } from '../../../plugins/app/errors.js';
import { authErrors, errorSchema, idParams, isoTime, pageQuery, toIso } from '../../../schemas.js';
import type { RouteOptions } from '../../../types.js';

/**
 * People's accounts (admin only, every route): who logs in to the control room, how to reach them,
 * and their roles scoped to sites. A password is never answered; it is set by the admin (or by a
 * reset, which answers a generated one once) and stored as a scrypt hash (core/secrets
 * hashPassword). Every change is written to the log with `audit`, the acting token and the
 * caller's address, never with a password.
 */

const accountSchema = z
  .object({
    id: z.string(),
    login: z.string(),
    displayName: z.string(),
    phone: z.string().optional(),
    wecomUserId: z.string().optional(),
    dingtalkUserId: z.string().optional(),
    grants: z.array(roleGrantSchema),
    disabled: z.boolean(),
    hasPassword: z.boolean().describe('false: cannot log in until a password is set'),
    createdAt: isoTime,
    updatedAt: isoTime,
    passwordSetAt: isoTime.optional(),
  })
  .meta({ id: 'Account' });

const out = (a: AccountWithPassword) => {
  const { passwordHash, passwordSetAt, createdAt, updatedAt, grants, ...rest } = a;
  return {
    ...rest, grants: grants.map((g) => ({ role: g.role, sites: g.sites === '*' ? ('*' as const) : [...g.sites] })), hasPassword: passwordHash !== undefined,
    createdAt: toIso(createdAt), updatedAt: toIso(updatedAt), ...(passwordSetAt !== undefined ? { passwordSetAt: toIso(passwordSetAt) } : {}),
  };
};

/** An id from the login when it fits the id alphabet (`zhang.wei`), else a random one (`wang@corp` → `acc-…`). */
const idFor = (login: string): string => (idSchema.safeParse(login).success ? login : `acc-${randomBytes(6).toString('hex')}`);

export const accountRoutes: FastifyPluginAsyncZod<RouteOptions & { accounts: AccountStore }> = async (app, { config, deps, accounts }) => {
  const now = deps.now ?? Date.now;
  app.addHook('preHandler', requireRole('admin'));
  const notFoundOr = { 404: errorSchema };
  const adminOverAll = (a: AccountRecord) => !a.disabled && a.grants.some((g) => g.role === 'admin' && g.sites === '*');
  /**
   * People must not lock themselves out: a change that leaves no enabled account with admin over all
   * sites is refused (409 last_admin) — recovery would take shell access (`anju token`).
   */
  const keepAnAdmin = async (id: string, after: AccountRecord | undefined) => {
    const all = await accounts.all();
    const before = all.find((a) => a.id === id);
    if (!before || !adminOverAll(before) || (after && adminOverAll(after))) return;
    if (all.some((a) => a.id !== id && adminOverAll(a))) return;
    throw new ApiError(409, 'last_admin', 'this is the last enabled account with admin over all sites; give another person that role first');
  };
  /**
   * Changes that read an account (or all of them, for keepAnAdmin) and then write run one at a time:
   * side by side, a PATCH of a name wrote back the `disabled` another PATCH had just set, and two
   * disables of two admins each saw the other still enabled and left none. One process's guard; the
   * nodes of a cluster each have their own.
   */
  const changes = createSerialQueue();
  const must = async (id: string) => {
    const a = await accounts.get(id);
    if (!a) throw notFound(`account ${id}`);
    return a;
  };

  app.get(
    '/',
    {
      schema: {
        tags: ['accounts'],
        summary: 'List people’s accounts (admin), ordered by login',
        querystring: z.object(pageQuery(config.maxListLimit)),
        response: { 200: z.object({ items: z.array(accountSchema), total: z.number().int() }), ...authErrors },
      },
    },
    async (request) => {
      const all = await accounts.all();
      const { limit, offset } = request.query;
      return { items: all.slice(offset, offset + limit).map(out), total: all.length };
    },
  );

  app.get(
    '/:id',
    { schema: { tags: ['accounts'], summary: 'Get a person’s account (admin)', params: idParams, response: { 200: accountSchema, ...notFoundOr, ...authErrors } } },
    async (request) => out(await must(request.params.id)),
  );

  app.post(
    '/',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Create a person’s account (admin)',
        description: 'Grants scope roles to sites: `[{"role":"maintenance","sites":["chundu"]}]`, or `"sites":"*"` for every site. '
          + 'A login is unique (409 when taken). The password, if given, is stored only as a scrypt hash.',
        body: accountInputSchema,
        response: { 201: accountSchema, 409: errorSchema, ...authErrors },
      },
    },
    async (request, reply) => {
      const { password, id, ...fields } = request.body;
      const at = now();
      const record: AccountWithPassword = {
        ...fields, id: id ?? idFor(fields.login), disabled: fields.disabled ?? false, createdAt: at, updatedAt: at,
        ...(password !== undefined ? { passwordHash: await hashPassword(password), passwordSetAt: at } : {}),
      };
      await accounts.create(record);
      request.log.info({ audit: 'account.created', account: record.id, login: record.login, grants: record.grants, by: request.principal?.tokenId, ip: request.ip },
        'account created');
      return reply.code(201).send(out(record));
    },
  );

  app.patch(
    '/:id',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Change a person’s account (admin): name, contacts, grants, login, disabled',
        description: 'Only the fields given change; the password has its own routes.',
        params: idParams,
        body: accountPatchSchema,
        response: { 200: accountSchema, ...notFoundOr, 409: errorSchema, ...authErrors },
      },
    },
    async (request) => changes.run(async () => {
      const old = await must(request.params.id);
      const next: AccountRecord = { ...old, ...request.body, updatedAt: now() };
      await keepAnAdmin(old.id, next);
      if (!(await accounts.update(next))) throw notFound(`account ${old.id}`);
      const changed = Object.keys(request.body);
      // Who may act changed: sessions start again under the new terms (a log-in checks them).
      if (changed.some((k) => k === 'disabled' || k === 'grants' || k === 'login')) app.auth.sessions?.endAll(old.id);
      request.log.info({ audit: 'account.changed', account: old.id, changed, grants: next.grants, by: request.principal?.tokenId, ip: request.ip }, 'account changed');
      return out(await must(old.id));
    }),
  );

  app.put(
    '/:id/password',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Set a person’s password (admin); stored only as a scrypt hash',
        params: idParams,
        body: z.object({ password: passwordSchema }).strict(),
        response: { 204: z.undefined().describe('set'), ...notFoundOr, ...authErrors },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await must(id);
      if (!(await accounts.setPasswordHash(id, await hashPassword(request.body.password), now()))) throw notFound(`account ${id}`);
      // A new password ends the sessions the old one opened (OWASP Session Management: renew on privilege or credential change).
      app.auth.sessions?.endAll(id);
      request.log.info({ audit: 'account.password_set', account: id, by: request.principal?.tokenId, ip: request.ip }, 'account password set');
      return reply.code(204).send();
    },
  );

  app.post(
    '/:id/password/reset',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Reset a person’s password to a generated one (admin), answered this once',
        params: idParams,
        response: { 200: z.object({ password: z.string().describe('192 random bits, base64url: hand it over, it is not shown again') }), ...notFoundOr, ...authErrors },
      },
    },
    async (request) => {
      const { id } = request.params;
      await must(id);
      const password = generateSecret();
      if (!(await accounts.setPasswordHash(id, await hashPassword(password), now()))) throw notFound(`account ${id}`);
      app.auth.sessions?.endAll(id);
      request.log.info({ audit: 'account.password_reset', account: id, by: request.principal?.tokenId, ip: request.ip }, 'account password reset');
      return { password };
    },
  );

  app.delete(
    '/:id',
    {
      schema: { tags: ['accounts'], summary: 'Delete a person’s account (admin)', params: idParams, response: { 204: z.undefined().describe('deleted'), ...notFoundOr, 409: errorSchema, ...authErrors } },
    },
    async (request, reply) => changes.run(async () => {
      const { id } = request.params;
      await keepAnAdmin(id, undefined);
      if (!(await accounts.delete(id))) throw notFound(`account ${id}`);
      app.auth.sessions?.endAll(id);
      request.log.info({ audit: 'account.deleted', account: id, by: request.principal?.tokenId, ip: request.ip }, 'account deleted');
      return reply.code(204).send();
    }),
  );
};
