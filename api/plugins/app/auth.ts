import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { roleAtLeast, roleRank } from '../../../core/index.js';
import { KeyedTokenBuckets } from '../../../core/rate-limit.js';
import { hashToken } from '../../../core/secrets.js';
import type { ApiToken, Role, StateStore } from '../../../storage/state/contract.js';
import { ApiError } from './errors.js';
import { deploymentPrincipal, principalOf, roleOverAllSites, type Principal } from './scope.js';
import { cookieValue, type Sessions } from './sessions.js';

export type { Principal } from './scope.js';

/** The control room's session cookie (api/routes/api/session). */
export const sessionCookie = 'anju_session';
// RFC 9110 §9.2.1: the methods that change nothing; every other one needs the CSRF token under a cookie.
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Bearer-token authentication (DESIGN §3: every route but /health). Secure by default: the check
 * is an `onRequest` hook on the whole app, and a route must opt out with `config: { public: true }`
 * — a route someone forgets to protect is protected anyway.
 *
 * Tokens are 256-bit random values stored as SHA-256 digests (core/secrets), so a lookup is one
 * indexed read; known tokens are cached for a few seconds so a dashboard polling every second
 * does not hit the state store on every request. Deleting a token through the API drops the
 * cache at once; a token deleted behind the API's back stays valid for at most the cache TTL.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** No token needed (only /health and the Swagger UI assets). */
    public?: boolean;
    /**
     * The route applies the caller's site scope itself (api/plugins/app/scope.ts). Without it the
     * route is whole-deployment: callers whose grants do not cover every site get 403.
     */
    siteScoped?: boolean;
  }
  interface FastifyRequest {
    /** Who is calling; null only on public routes. */
    principal: Principal | null;
  }
  interface FastifyInstance {
    auth: {
      invalidate(): void;
      /**
       * Runs an authentication attempt under the per-address failure limit: a 401 costs the
       * caller's address a token; with none left the answer is 429 with Retry-After, before any lookup.
       */
      throttled<T>(request: FastifyRequest, attempt: () => Promise<T>): Promise<T>;
      /** People's log-in sessions; absent where the API has no accounts. */
      sessions?: Sessions;
      /**
       * The principal of the request's session cookie (checking the CSRF token of a change), or
       * undefined when it sends none or the API has no sessions; 401 for an ended session.
       */
      fromSession(request: FastifyRequest): Promise<Principal | undefined>;
      /** 403 when a site-limited caller reaches a route that is not `siteScoped`. */
      checkScope(request: FastifyRequest): void;
    };
  }
}

/**
 * preHandler: the caller's role over every site must be one of `roles`, or outrank the lowest of
 * them — for whole-deployment actions. Per-site actions use requireRoleAt (api/plugins/app/scope.ts).
 */
export function requireRole(...roles: [Role, ...Role[]]): preHandlerAsyncHookHandler {
  const min = roles.reduce((a, b) => (roleRank[a] <= roleRank[b] ? a : b));
  return async (request: FastifyRequest) => {
    const p = request.principal;
    if (!p) throw new ApiError(401, 'unauthorized', 'a bearer token is required');
    const everywhere = roleOverAllSites(p.grants);
    if (everywhere === undefined || !roleAtLeast(everywhere, min)) {
      throw new ApiError(403, 'forbidden', `this needs the ${min} role over every site; "${p.name}" has ${everywhere ?? 'roles at some sites only'}`);
    }
  };
}

export interface AuthConfig {
  /** How long a known token is trusted without asking the state store again. */
  readonly cacheTtlMs: number;
}

export interface TokenAuthenticator {
  authenticate(header: string | undefined): Promise<Principal>;
  invalidate(): void;
}

// RFC 6750 §2.1: `Bearer` (case-insensitive scheme) followed by a b64token.
const bearer = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
// Bounds the cache so a flood of distinct bad tokens cannot grow it (only hits are cached anyway).
const MAX_CACHED = 1_000;

export function createTokenAuthenticator(config: AuthConfig, deps: { state: StateStore; now?: () => number }): TokenAuthenticator {
  const now = deps.now ?? Date.now;
  const cache = new Map<string, { token: ApiToken; until: number }>();
  /** Bumped by invalidate(): a lookup that overlapped a revocation may have read the token before it went. */
  let generation = 0;
  return {
    async authenticate(header) {
      if (!header) throw new ApiError(401, 'unauthorized', 'a bearer token is required: Authorization: Bearer <token>');
      const m = bearer.exec(header.trim());
      if (!m?.[1]) throw new ApiError(401, 'unauthorized', 'malformed Authorization header, expected: Bearer <token>');
      const hash = hashToken(m[1]);
      const hit = cache.get(hash);
      let token = hit && hit.until > now() ? hit.token : undefined;
      if (!token) {
        const seen = generation;
        token = await deps.state.findTokenByHash(hash);
        if (!token) throw new ApiError(401, 'unauthorized', 'unknown or revoked token');
        // Not remembered when a revocation came meanwhile: cached, a token revoked a moment ago was
        // trusted for the cache's whole lifetime (PostgreSQL: the read may precede the delete's commit).
        if (seen === generation) {
          if (cache.size >= MAX_CACHED) cache.clear();
          cache.set(hash, { token, until: now() + config.cacheTtlMs });
        }
      }
      return deploymentPrincipal(token.id, token.name, token.role);
    },
    invalidate() {
      generation += 1;
      cache.clear();
    },
  };
}

/**
 * Guessing tokens is hopeless (256 bits), but a client repeating a wrong one — a misconfigured
 * dashboard, a scanner — costs a state-store lookup each time and fills the log. So each client
 * address may fail `failuresPerMinute` times (burst as large); beyond that it gets 429 with
 * Retry-After until its bucket refills. Successful requests cost nothing. Behind a reverse proxy
 * set `trustProxy` so the address is the client's, not the proxy's.
 */
async function authPlugin(
  app: FastifyInstance,
  opts: { authenticator: TokenAuthenticator; failuresPerMinute: number; sessions?: Sessions; now?: () => number },
): Promise<void> {
  const failures = new KeyedTokenBuckets(opts.failuresPerMinute, 10_000, opts.now ?? Date.now);
  const sweep = setInterval(() => failures.sweep(), 60_000);
  sweep.unref();
  app.addHook('onClose', async () => clearInterval(sweep));

  async function throttled<T>(request: FastifyRequest, attempt: () => Promise<T>): Promise<T> {
    const waitMs = failures.waitMs(request.ip);
    if (waitMs > 0) {
      request.log.warn({ ip: request.ip, retryAfterMs: waitMs }, 'too many failed authentications from this address');
      throw new ApiError(429, 'too_many_requests', 'too many failed authentications from this address; wait and retry with a valid token', undefined, Math.ceil(waitMs / 1000));
    }
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof ApiError && err.statusCode === 401) failures.tryTake(request.ip);
      throw err;
    }
  }

  app.decorateRequest('principal', null);
  const { sessions } = opts;

  async function fromSession(request: FastifyRequest): Promise<Principal | undefined> {
    // A Bearer token wins: integrations keep working whatever cookies a browser sends along.
    const sid = sessions && !request.headers.authorization ? cookieValue(request.headers.cookie, sessionCookie) : undefined;
    if (!sessions || !sid) return undefined;
    const who = await throttled(request, async () => {
      const found = await sessions.lookup(sid);
      if (!found) throw new ApiError(401, 'unauthorized', 'the session has ended (logged out, idle or too old, or the account changed); log in again');
      return found;
    });
    // SameSite=Strict keeps the cookie off cross-site requests in today's browsers; the CSRF
    // token (OWASP CSRF Prevention Cheat Sheet, synchronizer token) covers the rest.
    const csrf = request.headers['x-csrf-token'];
    if (!safeMethods.has(request.method) && !sessions.csrfMatches(sid, typeof csrf === 'string' ? csrf : undefined)) {
      throw new ApiError(403, 'csrf_token_missing', 'a change made with a session cookie needs the X-CSRF-Token header the log-in answered');
    }
    const principal = principalOf(`account:${who.accountId}`, who.login, who.grants, who.displayName);
    if (!principal) throw new ApiError(401, 'unauthorized', 'the account has no role any more; log in again');
    return principal;
  }

  function checkScope(request: FastifyRequest): void {
    const p = request.principal;
    if (p && p.sites !== '*' && request.routeOptions.config.siteScoped !== true) {
      throw new ApiError(403, 'forbidden', `this covers the whole deployment and needs a role over every site; "${p.name}" has roles at some sites only`);
    }
  }

  app.decorate('auth', { invalidate: () => opts.authenticator.invalidate(), throttled, fromSession, checkScope, ...(sessions ? { sessions } : {}) });
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public === true) return;
    const principal = (await fromSession(request)) ?? (await throttled(request, () => opts.authenticator.authenticate(request.headers.authorization)));
    request.principal = principal;
    checkScope(request);
    request.log.debug({ token: principal.tokenId, role: principal.role }, 'authenticated');
  });
}

export default fp(authPlugin, { name: 'anju-auth', fastify: '5.x', dependencies: ['anju-errors'] });
