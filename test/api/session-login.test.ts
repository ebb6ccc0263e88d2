import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../core/secrets.js';
import { startHarness, type Harness } from './harness.js';

/** Name-and-password sessions of the control room, beside the Bearer tokens (test/api/auth.test.ts). */
describe('/api/session login and logout', () => {
  let h: Harness;
  let clock = Date.now();
  beforeAll(async () => {
    h = await startHarness({}, (deps) => ({ ...deps, now: () => clock }), async (db, deps) => {
      const at = Date.now();
      const person = { displayName: '张伟', disabled: false, createdAt: at, updatedAt: at, passwordSetAt: at };
      await db.accounts.create({ ...person, id: 'zhang', login: 'zhang', grants: [{ role: 'operator', sites: '*' }], passwordHash: await hashPassword('correct horse') });
      await db.accounts.create({ ...person, id: 'li', login: 'li', grants: [{ role: 'maintenance', sites: ['chundu'] }], passwordHash: await hashPassword('correct horse') });
      await db.accounts.create({ ...person, id: 'nobody', login: 'nobody', grants: [], passwordHash: await hashPassword('correct horse') });
      await db.accounts.create({ ...person, id: 'wu', login: 'wu', grants: [{ role: 'admin', sites: '*' }], passwordHash: await hashPassword('correct horse') });
      return { deps: { ...deps, accounts: db.accounts } };
    });
  });
  afterAll(async () => {
    await h.close();
  });

  const login = (body: object, ip = '10.0.0.1') => h.app.inject({ method: 'POST', url: '/api/session/login', payload: body, remoteAddress: ip });
  const sessionOf = (res: { headers: Record<string, unknown> }) => /anju_session=([^;]*)/.exec(String(res.headers['set-cookie']))?.[1] ?? '';

  it('logs in: an HttpOnly, SameSite=Strict, Path=/ cookie (Secure only over HTTPS) and a CSRF token; the cookie then authenticates', async () => {
    const res = await login({ login: ' Zhang', password: 'correct horse' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ accountId: 'zhang', login: 'zhang', displayName: '张伟', role: 'operator', csrfToken: expect.any(String) });
    const [setCookie, device] = res.headers['set-cookie'] as string[];
    expect(setCookie).toMatch(/^anju_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    // The device cookie (a guesser cannot lock this browser out) goes back only to the log-in route.
    expect(device).toMatch(/^anju_device=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Path=\/api\/session\/login; HttpOnly; SameSite=Strict; Max-Age=15552000$/);
    const https = await h.app.inject({ method: 'POST', url: '/api/session/login', payload: { login: 'zhang', password: 'correct horse' }, headers: { 'x-forwarded-proto': 'https' } });
    expect(String(https.headers['set-cookie'])).not.toContain('Secure'); // trustProxy is off: a forged header does not count
    const me = await h.app.inject({ method: 'GET', url: '/api/session', headers: { cookie: `anju_session=${sessionOf(res)}` } });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({ tokenId: 'account:zhang', name: 'zhang', displayName: '张伟', role: 'operator', grants: [{ role: 'operator', sites: '*' }], sites: '*' });
    // Roles apply to people as to tokens: an operator may not list tokens (admin).
    expect((await h.app.inject({ method: 'GET', url: '/api/tokens', headers: { cookie: `anju_session=${sessionOf(res)}` } })).statusCode).toBe(403);
    // Bearer tokens keep working alongside.
    expect((await h.call('viewer', { method: 'GET', url: '/api/session' })).json().role).toBe('viewer');
  });

  it('refuses a change made with the cookie but without the CSRF token (403), and takes it with the token', async () => {
    const res = await login({ login: 'wu', password: 'correct horse' });
    const cookie = `anju_session=${sessionOf(res)}`;
    const payload = { login: 'new.person', displayName: '新人', grants: [{ role: 'viewer', sites: '*' }] };
    const without = await h.app.inject({ method: 'POST', url: '/api/accounts', headers: { cookie }, payload });
    expect(without.statusCode).toBe(403);
    expect(without.json().error.code).toBe('csrf_token_missing');
    const wrong = await h.app.inject({ method: 'POST', url: '/api/accounts', headers: { cookie, 'x-csrf-token': 'guess' }, payload });
    expect(wrong.statusCode).toBe(403);
    expect(await h.db.accounts.get('new.person')).toBeUndefined();
    const ok = await h.app.inject({ method: 'POST', url: '/api/accounts', headers: { cookie, 'x-csrf-token': res.json().csrfToken }, payload });
    expect(ok.statusCode).toBe(201);
  });

  it('answers a wrong password and an unknown name alike (401), an account without a role 403, and locks out after 5 failures with 429 + Retry-After', async () => {
    const wrong = await login({ login: 'zhang', password: 'nope' }, '10.0.0.2');
    const unknown = await login({ login: 'ghost', password: 'nope' }, '10.0.0.3');
    expect([wrong.statusCode, unknown.statusCode]).toEqual([401, 401]);
    const shown = (r: typeof wrong) => ({ code: r.json().error.code, message: r.json().error.message });
    expect(shown(wrong)).toEqual(shown(unknown));
    // A site-limited account logs in (and sees only its sites: test/api/site-scope.test.ts); one without any role does not.
    const scoped = await login({ login: 'li', password: 'correct horse' });
    expect(scoped.statusCode).toBe(200);
    expect(scoped.json()).toMatchObject({ role: 'maintenance', grants: [{ role: 'maintenance', sites: ['chundu'] }], sites: ['chundu'] });
    const none = await login({ login: 'nobody', password: 'correct horse' });
    expect(none.statusCode).toBe(403);
    expect(none.json().error.code).toBe('no_role');
    // Per name: failures from different addresses add up.
    for (let i = 0; i < 4; i += 1) expect((await login({ login: 'zhang', password: 'nope' }, `10.1.0.${i}`)).statusCode).toBe(401);
    const locked = await login({ login: 'zhang', password: 'correct horse' }, '10.2.0.1');
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(15 * 60);
    // Per address: one address trying many names.
    for (let i = 0; i < 5; i += 1) await login({ login: `n${i}`, password: 'nope' }, '10.3.0.1');
    expect((await login({ login: 'wu', password: 'correct horse' }, '10.3.0.1')).statusCode).toBe(429);
    expect((await login({ login: 'wu', password: 'correct horse' }, '10.3.0.2')).statusCode).toBe(200);
    const metrics = await h.deps.metrics.getSingleMetricAsString('anju_login_failures_total');
    expect(metrics).toMatch(/reason="password"} (\d+)/);
    expect(Number(/reason="password"} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(11);
    expect(metrics).toMatch(/reason="locked"} 2/);
    // After the window, the name may try again.
    clock += 15 * 60_000 + 1;
    expect((await login({ login: 'zhang', password: 'correct horse' }, '10.2.0.1')).statusCode).toBe(200);
  });

  it('a guesser who knows a name cannot lock the person out of a browser they logged in from; that browser\'s own failures lock only it', async () => {
    const at = clock;
    for (const id of ['qian', 'zhou']) {
      await h.db.accounts.create({ id, login: id, displayName: '钱进', grants: [{ role: 'viewer', sites: '*' }], disabled: false, createdAt: at, updatedAt: at,
        passwordHash: await hashPassword('correct horse'), passwordSetAt: at });
    }
    const deviceOf = (res: { headers: Record<string, unknown> }) => /anju_device=([^;]*)/.exec(String((res.headers['set-cookie'] as string[])[1]))?.[1] ?? '';
    const from = (body: object, device: string, ip = '10.40.0.1') =>
      h.app.inject({ method: 'POST', url: '/api/session/login', payload: body, remoteAddress: ip, headers: { cookie: `anju_device=${device}` } });
    // The control-room PC: 钱 and then 周 log in on it; one cookie keeps both.
    const pc = deviceOf(await login({ login: 'qian', password: 'correct horse' }, '10.40.0.1'));
    const shared = deviceOf(await from({ login: 'zhou', password: 'correct horse' }, pc));
    expect(shared.split('~')).toHaveLength(2);

    // Someone elsewhere guesses 钱's password: the name is locked for every browser without a token for it.
    for (let i = 0; i < 5; i += 1) expect((await login({ login: 'qian', password: `guess ${i}` }, `10.41.0.${i}`)).statusCode).toBe(401);
    expect((await login({ login: 'qian', password: 'correct horse' }, '10.42.0.1')).statusCode).toBe(429);
    // ... but not for 钱's own PC, nor for a cookie holding only 周's token, forged or 钱's nonce with 周's MAC.
    expect((await from({ login: 'qian', password: 'correct horse' }, shared)).statusCode).toBe(200);
    const zhouOnly = deviceOf(await login({ login: 'zhou', password: 'correct horse' }, '10.43.0.1'));
    expect((await from({ login: 'qian', password: 'correct horse' }, zhouOnly, '10.43.0.1')).statusCode).toBe(429);
    const [nonce] = pc.split('.');
    const forged = `${nonce}.${(zhouOnly.split('.')[1] ?? '')}`;
    expect((await from({ login: 'qian', password: 'correct horse' }, forged, '10.43.0.2')).statusCode).toBe(429);

    // The trusted PC's own wrong passwords lock that PC (for 钱) and nothing else.
    for (let i = 0; i < 5; i += 1) expect((await from({ login: 'qian', password: `typo ${i}` }, shared, '10.40.0.9')).statusCode).toBe(401);
    expect((await from({ login: 'qian', password: 'correct horse' }, shared, '10.40.0.9')).statusCode).toBe(429);
    expect((await from({ login: 'zhou', password: 'correct horse' }, shared, '10.40.0.9')).statusCode).toBe(200);
    clock += 15 * 60_000 + 1;
    expect((await from({ login: 'qian', password: 'correct horse' }, shared)).statusCode).toBe(200);
  });

  it('ends sessions at logout, after 30 idle minutes, after 8 hours whatever the activity, and when the account is disabled', async () => {
    const start = async (who = 'zhang') => {
      const res = await login({ login: who, password: 'correct horse' }, '10.9.0.1');
      return { cookie: `anju_session=${sessionOf(res)}`, csrf: res.json().csrfToken as string };
    };
    const get = (cookie: string) => h.app.inject({ method: 'GET', url: '/api/session', headers: { cookie } });
    const a = await start();
    const out = await h.app.inject({ method: 'POST', url: '/api/session/logout', headers: { cookie: a.cookie, 'x-csrf-token': a.csrf } });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await get(a.cookie)).statusCode).toBe(401);

    const b = await start();
    clock += 29 * 60_000;
    expect((await get(b.cookie)).statusCode).toBe(200);
    clock += 31 * 60_000;
    expect((await get(b.cookie)).statusCode).toBe(401);

    const c = await start();
    for (let i = 0; i < 17; i += 1) {
      clock += 29 * 60_000;
      expect((await get(c.cookie)).statusCode, `after ${(i + 1) * 29} min`).toBe(i < 16 ? 200 : 401);
    }

    const d = await start();
    const acc = await h.db.accounts.get('zhang');
    await h.db.accounts.update({ ...acc!, disabled: true });
    expect((await get(d.cookie)).statusCode).toBe(401);
    expect((await login({ login: 'zhang', password: 'correct horse' }, '10.9.0.2')).json().error.code).toBe('account_disabled');
  });

  it('counts guesses sent all at once: no more than 5 are checked, the rest answer 429', async () => {
    const at = clock;
    await h.db.accounts.create({ id: 'zhao', login: 'zhao', displayName: '赵敏', grants: [{ role: 'viewer', sites: '*' }], disabled: false, createdAt: at, updatedAt: at,
      passwordHash: await hashPassword('correct horse'), passwordSetAt: at });
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => login({ login: 'zhao', password: `guess ${i}` }, `10.20.0.${i}`)));
    const codes = burst.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 401)).toHaveLength(5);
    expect(codes.filter((c) => c === 429)).toHaveLength(15);
    // The right password is refused too until the window passes.
    expect((await login({ login: 'zhao', password: 'correct horse' }, '10.21.0.1')).statusCode).toBe(429);
  });

  it('ends a person\'s sessions when the password is set or reset, the account disabled (even if enabled again) or deleted', async () => {
    const at = clock;
    await h.db.accounts.create({ id: 'sun', login: 'sun', displayName: '孙丽', grants: [{ role: 'viewer', sites: '*' }], disabled: false, createdAt: at, updatedAt: at,
      passwordHash: await hashPassword('correct horse'), passwordSetAt: at });
    let password = 'correct horse';
    const start = async () => `anju_session=${sessionOf(await login({ login: 'sun', password }, '10.30.0.1'))}`;
    const alive = async (cookie: string) => (await h.app.inject({ method: 'GET', url: '/api/session', headers: { cookie } })).statusCode === 200;
    const admin = (method: 'PUT' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) => h.call('admin', { method, url, ...(payload ? { payload } : {}) });

    const a = await start();
    expect(await alive(a)).toBe(true);
    expect((await admin('PUT', '/api/accounts/sun/password', { password: 'battery staple' })).statusCode).toBe(204);
    expect(await alive(a)).toBe(false);
    password = 'battery staple';

    const b = await start();
    const reset = await admin('POST', '/api/accounts/sun/password/reset');
    expect(reset.statusCode).toBe(200);
    expect(await alive(b)).toBe(false);
    password = reset.json().password as string;

    // Disabled while the session sat unused, then enabled again: the old cookie stays dead.
    const c = await start();
    expect((await admin('PATCH', '/api/accounts/sun', { disabled: true })).statusCode).toBe(200);
    expect((await admin('PATCH', '/api/accounts/sun', { disabled: false })).statusCode).toBe(200);
    expect(await alive(c)).toBe(false);

    // Deleted and created again under the same id: the old cookie is not the new person's session.
    const d = await start();
    expect((await admin('DELETE', '/api/accounts/sun')).statusCode).toBe(204);
    clock += 1;
    await h.db.accounts.create({ id: 'sun', login: 'sun', displayName: '孙丽（新）', grants: [{ role: 'admin', sites: '*' }], disabled: false, createdAt: clock, updatedAt: clock,
      passwordHash: await hashPassword('another one'), passwordSetAt: clock });
    expect(await alive(d)).toBe(false);
  });
});

describe('/api/session/login behind a TLS-terminating proxy', () => {
  it('marks the cookie Secure when the request came over HTTPS', async () => {
    const h = await startHarness({ http: { trustProxy: true } }, (d) => d, async (db, deps) => {
      const at = Date.now();
      await db.accounts.create({ id: 'zhang', login: 'zhang', displayName: '张伟', grants: [{ role: 'viewer', sites: '*' }], disabled: false, createdAt: at, updatedAt: at,
        passwordHash: await hashPassword('correct horse'), passwordSetAt: at });
      return { deps: { ...deps, accounts: db.accounts } };
    });
    try {
      const res = await h.app.inject({ method: 'POST', url: '/api/session/login', payload: { login: 'zhang', password: 'correct horse' }, headers: { 'x-forwarded-proto': 'https' } });
      expect(res.statusCode).toBe(200);
      expect((res.headers['set-cookie'] as string[])[0]).toMatch(/; HttpOnly; SameSite=Strict; Max-Age=28800; Secure$/);
      expect((res.headers['set-cookie'] as string[])[1]).toMatch(/^anju_device=.*; Secure$/);
    } finally {
      await h.close();
    }
  });
});
