import { afterEach, describe, expect, it } from 'vitest';
import { generateToken, hashToken } from '../../core/secrets.js';
import { startHarness, type Harness } from './harness.js';

/**
 * Administrative changes that read and then write, sent side by side (found in review, each lost
 * something before): two PATCHes of one account, the disables of the last two admins, the
 * revocations of the last two admin tokens. Real DuckDB store, `app.inject`.
 */
describe('concurrent administrative changes', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const open = async () => (h = await startHarness({}, (d) => d, async (db, deps) => ({ deps: { ...deps, accounts: db.accounts } })));
  const create = async (harness: Harness, login: string, role: string) => {
    const res = await harness.call('admin', { method: 'POST', url: '/api/accounts', payload: { login, displayName: login, grants: [{ role, sites: '*' }] } });
    expect(res.statusCode).toBe(201);
  };

  it('two PATCHes of one account at once: both changes stay (a name change no longer writes back a disable)', async () => {
    const harness = await open();
    for (let i = 0; i < 5; i++) {
      const login = `p${i}`;
      await create(harness, login, 'viewer');
      const [disable, rename] = await Promise.all([
        harness.call('admin', { method: 'PATCH', url: `/api/accounts/${login}`, payload: { disabled: true } }),
        harness.call('admin', { method: 'PATCH', url: `/api/accounts/${login}`, payload: { displayName: `renamed ${i}` } }),
      ]);
      expect([disable.statusCode, rename.statusCode]).toEqual([200, 200]);
      expect(disable.json()).toMatchObject({ disabled: true });
      expect(await harness.db.accounts.get(login)).toMatchObject({ disabled: true, displayName: `renamed ${i}` });
    }
  });

  it('disabling the last two admins at once: one is refused (409 last_admin), one admin stays enabled', async () => {
    const harness = await open();
    for (const login of ['boss1', 'boss2']) await create(harness, login, 'admin');
    const answers = await Promise.all(['boss1', 'boss2'].map((login) => harness.call('admin', { method: 'PATCH', url: `/api/accounts/${login}`, payload: { disabled: true } })));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409]);
    expect(answers.find((a) => a.statusCode === 409)?.json()).toMatchObject({ error: { code: 'last_admin' } });
    const enabledAdmins = (await harness.db.accounts.all()).filter((a) => !a.disabled && a.grants.some((g) => g.role === 'admin' && g.sites === '*'));
    expect(enabledAdmins).toHaveLength(1);
  });

  it('revoking the last two admin tokens at once: one is refused (409), one admin token stays', async () => {
    const harness = await open();
    await harness.db.state.createToken({ id: 'second-admin', name: 'second', role: 'admin', createdAt: Date.now() }, hashToken(generateToken()));
    const admins = async () => (await harness.db.state.listTokens()).filter((t) => t.role === 'admin');
    const ids = (await admins()).map((t) => t.id);
    expect(ids).toHaveLength(2);
    const answers = await Promise.all(ids.map((id) => harness.call('admin', { method: 'DELETE', url: `/api/tokens/${id}` })));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([204, 409]);
    expect(await admins()).toHaveLength(1);
  });
});
