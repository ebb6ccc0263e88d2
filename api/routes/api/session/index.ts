import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { loginSchema, roleGrantSchema } from '../../../../core/index.js';
import { sessionCookie } from '../../../plugins/app/auth.js';
import { ApiError } from '../../../plugins/app/errors.js';
import { principalOf, scopeJson } from '../../../plugins/app/scope.js';
import { deviceCookie, deviceCookieMaxAgeS } from '../../../plugins/app/device-cookies.js';
import { cookieValue } from '../../../plugins/app/sessions.js';
import { authErrors, errorSchema, roleEnum } from '../../../schemas.js';
import type { RouteOptions } from '../../../types.js';

/**
 * `GET /api/session`: who the caller is (Bearer token or session cookie). The control room calls it
 * to check a token at log-in and to show only the actions the role may take (the routes enforce
 * roles anyway). `POST /api/session/login` and `/logout`: people's name-and-password sessions
 * (api/plugins/app/sessions.ts), where the API has accounts.
 */

/** 12 hex characters of SHA-256: enough to group attempts in a log, too few to read a password back. */
export const loginDigest = (login: string): string => createHash('sha256').update(login).digest('hex').slice(0, 12);

const sitesSchema = z.union([z.literal('*'), z.array(z.string())]).describe('the sites the caller sees: "*" for every site');
const sessionSchema = z
  .object({
    tokenId: z.string(),
    name: z.string(),
    displayName: z.string().optional().describe('a person\'s name (session log-ins)'),
    role: roleEnum.describe('the highest role held at any site: admin > operator > maintenance > viewer'),
    grants: z.array(roleGrantSchema).describe('roles by site; an API token holds its role over every site'),
    sites: sitesSchema,
  })
  .meta({ id: 'Session' });

export const sessionRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app) => {
  app.get(
    '/',
    { config: { siteScoped: true }, schema: { tags: ['session'], summary: 'The caller: name, roles by site and the sites it sees', response: { 200: sessionSchema, ...authErrors } } },
    async (request) => {
      const p = request.principal;
      if (!p) throw new ApiError(401, 'unauthorized', 'a bearer token is required');
      return {
        tokenId: p.tokenId, name: p.name, ...(p.displayName !== undefined ? { displayName: p.displayName } : {}), role: p.role, ...scopeJson(p),
      };
    },
  );

  const sessions = app.auth.sessions;
  if (!sessions) return;
  // Secure whenever the request came over HTTPS (directly, or through a trusted proxy), so a
  // plaintext LAN deployment can still log in; Path=/ because the UI and the API share the origin.
  const cookie = (request: { protocol: string }, value: string, maxAgeS: number, name = sessionCookie, path = '/') =>
    `${name}=${value}; Path=${path}; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${request.protocol === 'https' ? '; Secure' : ''}`;

  app.post(
    '/login',
    {
      config: { public: true },
      schema: {
        tags: ['session'],
        summary: 'Log in with name and password: sets an HttpOnly session cookie and answers the CSRF token for changes',
        description: 'Send the answered `csrfToken` as `X-CSRF-Token` on every POST, PUT, PATCH and DELETE made with the cookie. '
          + '5 failed log-ins per name or per address within 15 minutes answer 429 with Retry-After until the window passes; '
          + 'a browser that logged in as that name before (its `anju_device` cookie) is counted on its own, so others\' guesses do not lock it out.',
        // Logins are lower-case (core/accounts); `Zhang.Wei` typed at the door is the same person.
        body: z.object({ login: z.string().trim().toLowerCase().pipe(loginSchema), password: z.string().min(1).max(256) }).strict(),
        response: {
          200: z.object({
            accountId: z.string(), login: z.string(), displayName: z.string(), role: roleEnum.describe('the highest role held at any site'),
            grants: z.array(roleGrantSchema), sites: sitesSchema, csrfToken: z.string(),
          }).meta({ id: 'LoginAnswer' }),
          400: errorSchema, 401: errorSchema, 403: errorSchema, 429: errorSchema,
        },
      },
    },
    async (request, reply) => {
      try {
        const device = cookieValue(request.headers.cookie, deviceCookie);
        const { sessionId, csrfToken, deviceCookie: trust, who } = await sessions.login(request.body.login, request.body.password, request.ip, device);
        request.log.info({ audit: 'session.login', account: who.accountId, ip: request.ip }, 'logged in');
        // From here on the request is the person's: the audit trail records the log-in as theirs.
        // The session's account has a role (sessions.login refuses one without): never undefined here.
        const principal = principalOf(`account:${who.accountId}`, who.login, who.grants, who.displayName);
        if (!principal) throw new ApiError(403, 'no_role', 'this account has no role at any site');
        request.principal = principal;
        // The device cookie goes only to the log-in route (api/plugins/app/device-cookies.ts), never to the API at large.
        void reply.header('set-cookie', [
          cookie(request, sessionId, Math.floor(sessions.absoluteMs / 1000)),
          cookie(request, trust, deviceCookieMaxAgeS, deviceCookie, '/api/session/login'),
        ]);
        return { ...who, ...scopeJson(principal), csrfToken };
      } catch (err) {
        // Not the name as typed: people type their password into the name field, and it would sit in
        // the log (OWASP Logging Cheat Sheet: never log passwords). A digest still tells repeated
        // attempts at one name apart from a spray across many.
        if (err instanceof ApiError) request.log.warn({ audit: 'session.login_failed', loginDigest: loginDigest(request.body.login), ip: request.ip, code: err.code }, 'log-in refused');
        throw err;
      }
    },
  );

  app.post(
    '/logout',
    {
      config: { siteScoped: true },
      schema: { tags: ['session'], summary: 'End the session of the cookie sent (needs X-CSRF-Token)', response: { 204: z.undefined().describe('logged out'), ...authErrors } },
    },
    async (request, reply) => {
      const sid = cookieValue(request.headers.cookie, sessionCookie);
      if (sid) sessions.logout(sid);
      request.log.info({ audit: 'session.logout', by: request.principal?.tokenId, ip: request.ip }, 'logged out');
      return reply.header('set-cookie', cookie(request, '', 0)).code(204).send();
    },
  );
};
