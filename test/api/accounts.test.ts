import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySecret } from '../../core/secrets.js';
import { createLogSink } from '../helpers/log-sink.js';
import { startHarness, type Harness } from './harness.js';

const { lines: logLines, stream: logSink } = createLogSink();

describe('/api/accounts', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({}, (deps) => ({ ...deps, logger: pino({ level: 'info' }, logSink) }), async (db, deps) => ({ deps: { ...deps, accounts: db.accounts } }));
  });
  afterAll(async () => {
    await h.close();
  });

  const body = {
    login: 'zhang.wei', displayName: '张伟', phone: '+86 138 0000 0001', wecomUserId: 'ZhangWei', dingtalkUserId: 'dd-zw',
    grants: [{ role: 'maintenance', sites: ['chundu'] }], password: 'correct horse battery',
  };

  it('creates an account (admin), stores the password only as a scrypt hash (N=2^15, r=8, p=3) and never answers it', async () => {
    const res = await h.call('admin', { method: 'POST', url: '/api/accounts', payload: body });
    expect(res.statusCode).toBe(201);
    const { password, ...shown } = body;
    expect(res.json()).toMatchObject({ ...shown, id: 'zhang.wei', disabled: false, hasPassword: true });
    expect(res.body).not.toContain(password);
    const stored = await h.db.accounts.get('zhang.wei');
    expect(stored?.passwordHash).toMatch(/^scrypt\$32768\$8\$3\$/);
    expect(await verifySecret(password, stored?.passwordHash ?? '')).toBe(true);
    expect(await verifySecret('wrong password', stored?.passwordHash ?? '')).toBe(false);
    const list = await h.call('admin', { method: 'GET', url: '/api/accounts' });
    expect(list.json()).toMatchObject({ total: 1, items: [{ login: 'zhang.wei' }] });
    expect(list.body).not.toContain('scrypt');
    expect(logLines.find((l) => l.audit === 'account.created')).toMatchObject({ account: 'zhang.wei', by: expect.any(String), ip: expect.any(String) });
    expect(JSON.stringify(logLines)).not.toContain(password);
  });

  it('gives a login that is no id a generated id, and an account without a password none', async () => {
    const res = await h.call('admin', { method: 'POST', url: '/api/accounts', payload: { login: 'wang@corp', displayName: '王芳', grants: [{ role: 'viewer', sites: '*' }] } });
    expect(res.statusCode).toBe(201);
    expect(res.json().id).toMatch(/^acc-[0-9a-f]{12}$/);
    expect(res.json()).toMatchObject({ hasPassword: false, grants: [{ role: 'viewer', sites: '*' }] });
    expect(res.json()).not.toHaveProperty('passwordSetAt');
  });

  it('refuses bad input with coded 400s and a taken login with 409, losing nothing', async () => {
    const bad = [
      { ...body, login: 'Zhang Wei' },
      { ...body, login: 'x', password: 'short' },
      { ...body, login: 'y', grants: [{ role: 'boss', sites: '*' }] },
      { ...body, login: 'z', grants: [{ role: 'viewer', sites: [] }] },
      { ...body, login: 'w', phone: 'call me' },
      { ...body, login: 'v', extra: 1 },
    ];
    for (const payload of bad) {
      const res = await h.call('admin', { method: 'POST', url: '/api/accounts', payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.code).toBeTypeOf('string');
    }
    const dup = await h.call('admin', { method: 'POST', url: '/api/accounts', payload: { ...body, id: 'other' } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('conflict');
    expect((await h.call('admin', { method: 'GET', url: '/api/accounts' })).json().total).toBe(2);
  });

  it('changes only the fields given, refuses an empty change and a taken login', async () => {
    const res = await h.call('admin', { method: 'PATCH', url: '/api/accounts/zhang.wei', payload: { grants: [{ role: 'operator', sites: ['chundu', 'lakeside'] }], disabled: true } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ displayName: '张伟', phone: body.phone, disabled: true, hasPassword: true, grants: [{ role: 'operator', sites: ['chundu', 'lakeside'] }] });
    expect(Date.parse(res.json().updatedAt)).toBeGreaterThanOrEqual(Date.parse(res.json().createdAt));
    expect((await h.call('admin', { method: 'PATCH', url: '/api/accounts/zhang.wei', payload: {} })).statusCode).toBe(400);
    expect((await h.call('admin', { method: 'PATCH', url: '/api/accounts/zhang.wei', payload: { login: 'wang@corp' } })).statusCode).toBe(409);
    expect((await h.call('admin', { method: 'PATCH', url: '/api/accounts/nobody', payload: { disabled: false } })).statusCode).toBe(404);
    expect(logLines.find((l) => l.audit === 'account.changed')).toMatchObject({ account: 'zhang.wei', changed: ['grants', 'disabled'] });
  });

  it('sets a password, and resets one to a generated password answered once', async () => {
    expect((await h.call('admin', { method: 'PUT', url: '/api/accounts/zhang.wei/password', payload: { password: 'another long one' } })).statusCode).toBe(204);
    expect(await verifySecret('another long one', (await h.db.accounts.get('zhang.wei'))?.passwordHash ?? '')).toBe(true);
    expect((await h.call('admin', { method: 'PUT', url: '/api/accounts/zhang.wei/password', payload: { password: '1234567' } })).statusCode).toBe(400);
    const reset = await h.call('admin', { method: 'POST', url: '/api/accounts/zhang.wei/password/reset' });
    expect(reset.statusCode).toBe(200);
    const { password } = reset.json<{ password: string }>();
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await verifySecret(password, (await h.db.accounts.get('zhang.wei'))?.passwordHash ?? '')).toBe(true);
    expect(await verifySecret('another long one', (await h.db.accounts.get('zhang.wei'))?.passwordHash ?? '')).toBe(false);
    expect((await h.call('admin', { method: 'POST', url: '/api/accounts/nobody/password/reset' })).statusCode).toBe(404);
    expect(JSON.stringify(logLines)).not.toContain(password);
    expect(logLines.filter((l) => String(l.audit).startsWith('account.password_')).map((l) => l.audit)).toEqual(['account.password_set', 'account.password_reset']);
  });

  it('never logs the name typed at a refused log-in (it is often the password, typed in the wrong field), only a digest of it', async () => {
    const typo = 'my-secret-pa55word';
    const refused = await h.app.inject({ method: 'POST', url: '/api/session/login', payload: { login: typo, password: 'x' } });
    expect(refused.statusCode).toBe(401);
    const line = logLines.find((l) => l.audit === 'session.login_failed');
    expect(line).toMatchObject({ loginDigest: expect.stringMatching(/^[0-9a-f]{12}$/), code: 'unauthorized' });
    expect(JSON.stringify(logLines)).not.toContain(typo);
  });

  it('is admin only, for reading too', async () => {
    for (const role of ['operator', 'maintenance', 'viewer'] as const) {
      expect((await h.call(role, { method: 'GET', url: '/api/accounts' })).statusCode).toBe(403);
      expect((await h.call(role, { method: 'GET', url: '/api/accounts/zhang.wei' })).statusCode).toBe(403);
      expect((await h.call(role, { method: 'POST', url: '/api/accounts', payload: { ...body, login: `x-${role}` } })).statusCode).toBe(403);
    }
    expect((await h.call(null, { method: 'GET', url: '/api/accounts' })).statusCode).toBe(401);
  });

  it('deletes an account, then answers 404 for it', async () => {
    expect((await h.call('admin', { method: 'DELETE', url: '/api/accounts/zhang.wei' })).statusCode).toBe(204);
    expect((await h.call('admin', { method: 'GET', url: '/api/accounts/zhang.wei' })).statusCode).toBe(404);
    expect((await h.call('admin', { method: 'DELETE', url: '/api/accounts/zhang.wei' })).statusCode).toBe(404);
  });

  it('refuses to disable, demote or delete the last enabled admin over all sites (409 last_admin)', async () => {
    const admin = (login: string) => h.call('admin', { method: 'POST', url: '/api/accounts', payload: { login, displayName: login, grants: [{ role: 'admin', sites: '*' }] } });
    expect((await admin('boss')).statusCode).toBe(201);
    for (const change of [{ disabled: true }, { grants: [{ role: 'admin', sites: ['chundu'] }] }, { grants: [{ role: 'operator', sites: '*' }] }]) {
      const res = await h.call('admin', { method: 'PATCH', url: '/api/accounts/boss', payload: change });
      expect(res.statusCode, JSON.stringify(change)).toBe(409);
      expect(res.json().error.code).toBe('last_admin');
    }
    expect((await h.call('admin', { method: 'DELETE', url: '/api/accounts/boss' })).json().error.code).toBe('last_admin');
    expect((await h.db.accounts.get('boss'))?.disabled).toBe(false);
    // With a second admin, the first may go.
    expect((await admin('boss2')).statusCode).toBe(201);
    expect((await h.call('admin', { method: 'PATCH', url: '/api/accounts/boss', payload: { displayName: '老板' } })).statusCode).toBe(200);
    expect((await h.call('admin', { method: 'DELETE', url: '/api/accounts/boss' })).statusCode).toBe(204);
    expect((await h.call('admin', { method: 'PATCH', url: '/api/accounts/boss2', payload: { disabled: true } })).statusCode).toBe(409);
  });

  it('is described in the OpenAPI document, log-in included', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const paths = Object.keys(res.json<{ paths: Record<string, unknown> }>().paths);
    expect(paths).toEqual(expect.arrayContaining(['/api/accounts', '/api/accounts/{id}', '/api/accounts/{id}/password', '/api/accounts/{id}/password/reset', '/api/session/login', '/api/session/logout']));
  });
});
