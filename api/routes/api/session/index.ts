import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { loginSchema } from '../../../../core/index.js';
import { sessionCookie } from '../../../plugins/app/auth.js';
import { ApiError } from '../../../plugins/app/errors.js';
import { cookieValue } from '../../../plugins/app/sessions.js';
import { authErrors, errorSchema, roleEnum } from '../../../schemas.js';
import type { RouteOptions } from '../../../types.js';

/**
 * `GET /api/session`: who the caller is (Bearer token or session cookie). The control room calls it
 * to check a token at log-in and to show only the actions the role may take (the routes enforce
 * roles anyway). `POST /api/session/login` and `/logout`: people's name-and-password sessions
 * (api/plugins/app/sessions.ts), where the API has accounts.
 */

const sessionSchema = z
  .object({ tokenId: z.string(), name: z.string(), role: roleEnum.describe('admin > operator > maintenance > viewer') })
  .meta({ id: 'Session' });

export const sessionRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app) => {
  app.get(
    '/',
    { schema: { tags: ['session'], summary: 'The caller: token name and role', response: { 200: sessionSchema, ...authErrors } } },
    async (request) => {
      const p = request.principal;
      if (!p) throw new ApiError(401, 'unauthorized', 'a bearer token is required');
      return { tokenId: p.tokenId, name: p.name, role: p.role };
    },
  );

  const sessions = app.auth.sessions;
  if (!sessions) return;
  // Secure whenever the request came over HTTPS (directly, or through a trusted proxy), so a
  // plaintext LAN deployment can still log in; Path=/ because the UI and the API share the origin.
  const cookie = (request: { protocol: string }, value: string, maxAgeS: number) =>
    `${sessionCookie}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${request.protocol === 'https' ? '; Secure' : ''}`;

  app.post(
    '/login',
    {
      config: { public: true },
      schema: {
        tags: ['session'],
        summary: 'Log in with name and password: sets an HttpOnly session cookie and answers the CSRF token for changes',
        description: 'Send the answered `csrfToken` as `X-CSRF-Token` on every POST, PUT, PATCH and DELETE made with the cookie. '
          + '5 failed log-ins per name or per address within 15 minutes answer 429 with Retry-After until the window passes.',
        // Logins are lower-case (core/accounts); `Zhang.Wei` typed at the door is the same person.
        body: z.object({ login: z.string().trim().toLowerCase().pipe(loginSchema), password: z.string().min(1).max(256) }).strict(),
        response: {
          200: z.object({ accountId: z.string(), login: z.string(), displayName: z.string(), role: roleEnum, csrfToken: z.string() }).meta({ id: 'LoginAnswer' }),
          400: errorSchema, 401: errorSchema, 403: errorSchema, 429: errorSchema,
        },
      },
    },
    async (request, reply) => {
      try {
        const { sessionId, csrfToken, who } = await sessions.login(request.body.login, request.body.password, request.ip);
        request.log.info({ audit: 'session.login', account: who.accountId, ip: request.ip }, 'logged in');
        // From here on the request is the person's: the audit trail records the log-in as theirs.
        request.principal = { tokenId: `account:${who.accountId}`, name: who.login, role: who.role };
        void reply.header('set-cookie', cookie(request, sessionId, Math.floor(sessions.absoluteMs / 1000)));
        return { ...who, csrfToken };
      } catch (err) {
        if (err instanceof ApiError) request.log.warn({ audit: 'session.login_failed', login: request.body.login, ip: request.ip, code: err.code }, 'log-in refused');
        throw err;
      }
    },
  );

  app.post(
    '/logout',
    {
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
