import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import type { Role, RoleGrant } from '../../../core/index.js';
import { hashToken, verifyNoPassword, verifySecret } from '../../../core/secrets.js';
import { getOrCreateMetric } from '../../../core/util/index.js';
import type { AccountStore } from '../../../storage/accounts/contract.js';
import { createDeviceCookies } from './device-cookies.js';
import { ApiError } from './errors.js';
import { principalOf } from './scope.js';

/**
 * Control-room sessions of people (name and password), beside the Bearer tokens of integrations.
 *
 * A session id is 256 random bits given once in an HttpOnly cookie; the server keeps only its
 * SHA-256 (like API tokens: a leaked memory dump or log names no live session). Sessions end after
 * `idleMs` without a request and at `absoluteMs` whatever the activity — OWASP Session Management
 * Cheat Sheet, "Session Expiration": 15–30 min idle and 4–8 h absolute for applications an
 * operator uses a whole shift. They live in memory: a restart logs people out, which costs a
 * log-in and never leaves a session a restored backup could revive.
 *
 * Guessing: 5 failed log-ins per login name and per client address within 15 minutes block that
 * name or address for the rest of the window (429 with Retry-After) — OWASP Authentication Cheat
 * Sheet, "Account lockout"; counted in `anju_login_failures_total`. A browser the person logged in
 * from before (a valid device cookie for that name, api/plugins/app/device-cookies.ts) is counted
 * on its own instead: a guesser who knows the name cannot lock the person out of it.
 */

export interface SessionConfig {
  readonly idleMs: number;
  readonly absoluteMs: number;
  readonly maxFailures: number;
  readonly failureWindowMs: number;
}

export const defaultSessionConfig: SessionConfig = { idleMs: 30 * 60_000, absoluteMs: 8 * 3_600_000, maxFailures: 5, failureWindowMs: 15 * 60_000 };

export interface SessionPrincipal {
  readonly accountId: string;
  readonly login: string;
  readonly displayName: string;
  /** The highest role held at any site (api/plugins/app/scope.ts applies the grants site by site). */
  readonly role: Role;
  readonly grants: readonly RoleGrant[];
}

interface Session extends SessionPrincipal {
  readonly csrfHash: string;
  readonly createdAt: number;
  /** The account as it was at log-in: a new password or an account re-created under the same id ends the session. */
  readonly accountCreatedAt: number;
  readonly passwordSetAt: number | undefined;
  lastSeen: number;
}

export interface LoginResult {
  readonly sessionId: string;
  readonly csrfToken: string;
  /** The browser's device cookie value after this log-in. */
  readonly deviceCookie: string;
  readonly who: SessionPrincipal;
}

export interface Sessions {
  /** Longest life of a session (the cookie's Max-Age). */
  readonly absoluteMs: number;
  /**
   * Checks name and password under the lockout; resolves with the new session's id and CSRF token
   * (each shown once) and the browser's new device cookie. `device`: the device cookie sent, if any.
   */
  login(login: string, password: string, ip: string, device?: string): Promise<LoginResult>;
  /** The session's person as the account now is (a disabled or deleted account ends it), or undefined. */
  lookup(sessionId: string): Promise<SessionPrincipal | undefined>;
  /** Does `token` match the session's CSRF token (constant time)? */
  csrfMatches(sessionId: string, token: string | undefined): boolean;
  logout(sessionId: string): boolean;
  /**
   * Ends every session of an account (its password set or reset, disabled, grants changed, deleted):
   * a session that sat unused meanwhile must not come back when the account is re-enabled.
   */
  endAll(accountId: string): number;
}

export function createSessions(config: SessionConfig, deps: { accounts: AccountStore; metrics: Registry; now?: () => number }): Sessions {
  const now = deps.now ?? Date.now;
  const sessions = new Map<string, Session>();
  /**
   * The `endAll` count at which each account's sessions were last ended. A log-in checks its password for ~0.1 s with the
   * account as read before; one that overlapped an `endAll` (disabled, password set, grants changed)
   * reads the account again before it makes a session, or it would make one `endAll` never saw — and
   * that session came back when the account was enabled again.
   */
  const endedAt = new Map<string, number>();
  /** `endAll` calls so far: the marks in `endedAt` (a count, not a time: the clock may stand still or step back). */
  let endings = 0;
  const endedSince = (accountId: string, mark: number) => (endedAt.get(accountId) ?? 0) > mark;
  const failures = new Map<string, number[]>();
  const devices = createDeviceCookies();
  const failed = getOrCreateMetric(deps.metrics, 'anju_login_failures_total', () => new Counter({
    name: 'anju_login_failures_total', help: 'Failed control-room log-ins, by reason (password, locked, disabled, no_role).', labelNames: ['reason'], registers: [deps.metrics],
  }), ['reason']);

  const recent = (key: string, t: number): number[] => {
    const kept = (failures.get(key) ?? []).filter((at) => at > t - config.failureWindowMs);
    if (kept.length > 0) failures.set(key, kept);
    else failures.delete(key);
    return kept;
  };
  const live = (id: string): Session | undefined => {
    const hash = hashToken(id);
    const s = sessions.get(hash);
    const t = now();
    if (s && (t - s.lastSeen > config.idleMs || t - s.createdAt > config.absoluteMs)) {
      sessions.delete(hash);
      return undefined;
    }
    return s;
  };
  const sweep = () => {
    const t = now();
    for (const [h, s] of sessions) if (t - s.lastSeen > config.idleMs || t - s.createdAt > config.absoluteMs) sessions.delete(h);
    for (const key of failures.keys()) recent(key, t);
  };

  return {
    absoluteMs: config.absoluteMs,
    async login(login, password, ip, device) {
      const t = now();
      sweep();
      const trusted = devices.trusted(login, device);
      const keys = trusted !== undefined ? [`device:${trusted}`] : [`login:${login}`, `ip:${ip}`];
      const blockedUntil = Math.max(0, ...keys.map((k) => {
        const r = recent(k, t);
        return r.length >= config.maxFailures ? (r[r.length - config.maxFailures] ?? t) + config.failureWindowMs : 0;
      }));
      if (blockedUntil > t) {
        failed.inc({ reason: 'locked' });
        throw new ApiError(429, 'too_many_requests', 'too many failed log-ins for this name or address; wait and try again', undefined, Math.ceil((blockedUntil - t) / 1000));
      }
      // Counted as a failure before the slow check, and given back only when the password is right:
      // guesses sent all at once would otherwise all pass the check above before any was counted.
      for (const k of keys) failures.set(k, [...recent(k, t), t]);
      let mark = endings;
      let account = await deps.accounts.byLogin(login);
      // An unknown name costs what a wrong password costs: the answer time names no account.
      const ok = account?.passwordHash ? await verifySecret(password, account.passwordHash) : await verifyNoPassword(password);
      const checked = account;
      // Ended meanwhile: read again, and again if it was ended again while this read ran.
      while (account && endedSince(account.id, mark)) {
        mark = endings;
        account = await deps.accounts.get(account.id);
      }
      // Deleted, or its password set, since it was checked: the password checked is not its password now.
      if (account && account.passwordSetAt !== checked?.passwordSetAt) account = undefined;
      if (!ok || !account) {
        failed.inc({ reason: 'password' });
        throw new ApiError(401, 'unauthorized', 'wrong login name or password');
      }
      failures.delete(keys[0] as string);
      if (trusted === undefined) {
        const fromIp = failures.get(`ip:${ip}`) ?? [];
        const mine = fromIp.lastIndexOf(t);
        if (mine >= 0) fromIp.splice(mine, 1);
        if (fromIp.length === 0) failures.delete(`ip:${ip}`);
      }
      if (account.disabled) {
        failed.inc({ reason: 'disabled' });
        throw new ApiError(403, 'account_disabled', 'this account is disabled; ask an administrator');
      }
      // Grants limited to some sites log in and see only those (api/plugins/app/scope.ts); no grant at all sees nothing.
      const role = principalOf(account.id, account.login, account.grants)?.role;
      if (!role) {
        failed.inc({ reason: 'no_role' });
        throw new ApiError(403, 'no_role', 'this account has no role at any site; ask an administrator to grant one');
      }
      const sessionId = randomBytes(32).toString('base64url');
      const csrfToken = randomBytes(32).toString('base64url');
      const who = { accountId: account.id, login: account.login, displayName: account.displayName, role, grants: account.grants };
      sessions.set(hashToken(sessionId), {
        ...who, csrfHash: hashToken(csrfToken), createdAt: t, lastSeen: t, accountCreatedAt: account.createdAt, passwordSetAt: account.passwordSetAt,
      });
      return { sessionId, csrfToken, deviceCookie: devices.issue(login, device), who };
    },
    async lookup(sessionId) {
      const s = live(sessionId);
      if (!s) return undefined;
      const account = await deps.accounts.get(s.accountId);
      const same = account !== undefined && account.createdAt === s.accountCreatedAt && account.passwordSetAt === s.passwordSetAt;
      const role = same && !account.disabled ? principalOf(account.id, account.login, account.grants)?.role : undefined;
      if (!account || !role) {
        sessions.delete(hashToken(sessionId));
        return undefined;
      }
      s.lastSeen = now();
      return { accountId: account.id, login: account.login, displayName: account.displayName, role, grants: account.grants };
    },
    csrfMatches(sessionId, token) {
      const s = live(sessionId);
      if (!s || !token) return false;
      const a = Buffer.from(hashToken(token), 'hex');
      const b = Buffer.from(s.csrfHash, 'hex');
      return a.length === b.length && timingSafeEqual(a, b);
    },
    logout(sessionId) {
      return sessions.delete(hashToken(sessionId));
    },
    endAll(accountId) {
      endings += 1;
      endedAt.set(accountId, endings);
      let ended = 0;
      for (const [h, s] of sessions) {
        if (s.accountId !== accountId) continue;
        sessions.delete(h);
        ended += 1;
      }
      return ended;
    },
  };
}

/** The value of cookie `name` in a Cookie header (RFC 6265 §4.2.1), or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
