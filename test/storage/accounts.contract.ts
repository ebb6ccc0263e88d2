import { expect, it } from 'vitest';
import { withContract, type StoreHarness } from './contract-scaffold.js';
import type { AccountStore, AccountWithPassword } from '../../storage/accounts/contract.js';
import { DuplicateError } from '../../storage/state/contract.js';

/**
 * The abstract AccountStore suite: the embedded DuckDB store runs it today, the PostgreSQL one of
 * cluster mode must pass it unchanged. Not a test file itself (no `.test.ts`).
 */
export type AccountStoreHarness = StoreHarness<AccountStore>;

const T0 = Date.UTC(2026, 0, 1);

const account = (id: string, extra: Partial<AccountWithPassword> = {}): AccountWithPassword => ({
  id, login: id, displayName: `张 ${id}`, grants: [{ role: 'maintenance', sites: ['chundu'] }], disabled: false, createdAt: T0, updatedAt: T0, ...extra,
});

export function accountStoreContract(name: string, open: () => Promise<AccountStoreHarness>): void {
  withContract(`AccountStore contract: ${name}`, open, (c) => {

    it('creates and reads back an account exactly, by id and by login, optional fields absent when unset', async () => {
      const full = account('zhang.wei', {
        phone: '+86 138 0000 0000', wecomUserId: 'ZhangWei', dingtalkUserId: 'dd-1', passwordHash: 'scrypt$x', passwordSetAt: T0 + 1,
        grants: [{ role: 'operator', sites: ['chundu', 'lakeside'] }, { role: 'viewer', sites: '*' }],
      });
      const bare = account('li.na');
      await c.store.create(full);
      await c.store.create(bare);
      expect(await c.store.get('zhang.wei')).toEqual(full);
      expect(await c.store.byLogin('li.na')).toEqual(bare);
      expect(await c.store.get('li.na')).not.toHaveProperty('passwordHash');
      expect(await c.store.get('nobody')).toBeUndefined();
      expect(await c.store.byLogin('nobody')).toBeUndefined();
    });

    it('refuses a taken id or a taken login (DuplicateError), leaving the first as it was', async () => {
      await c.store.create(account('a1', { login: 'wang' }));
      await expect(c.store.create(account('a1', { login: 'other' }))).rejects.toBeInstanceOf(DuplicateError);
      await expect(c.store.create(account('a2', { login: 'wang' }))).rejects.toBeInstanceOf(DuplicateError);
      expect((await c.store.all()).map((a) => a.id)).toEqual(['a1']);
    });

    it('lists every account ordered by login', async () => {
      for (const [id, login] of [['1', 'zeta'], ['2', 'alpha'], ['3', 'mid']] as const) await c.store.create(account(id, { login }));
      expect((await c.store.all()).map((a) => a.login)).toEqual(['alpha', 'mid', 'zeta']);
    });

    it('updates everything but id, createdAt and the password; refuses a taken login; says when there is no such account', async () => {
      await c.store.create(account('a1', { passwordHash: 'scrypt$keep', passwordSetAt: T0 }));
      await c.store.create(account('a2'));
      const changed = account('a1', { login: 'renamed', displayName: '王芳', phone: '010-1234567', grants: [{ role: 'admin', sites: '*' }], disabled: true,
        createdAt: T0 + 99, updatedAt: T0 + 5 });
      expect(await c.store.update(changed)).toBe(true);
      expect(await c.store.get('a1')).toEqual({ ...changed, createdAt: T0, passwordHash: 'scrypt$keep', passwordSetAt: T0 });
      await expect(c.store.update({ ...changed, login: 'a2' })).rejects.toBeInstanceOf(DuplicateError);
      expect((await c.store.get('a1'))?.login).toBe('renamed');
      expect(await c.store.update(account('ghost'))).toBe(false);
    });

    it('sets a password hash and its time, deletes, and keeps all of it across a reopen', async () => {
      await c.store.create(account('a1'));
      await c.store.create(account('a2'));
      expect(await c.store.setPasswordHash('a1', 'scrypt$new', T0 + 7)).toBe(true);
      expect(await c.store.setPasswordHash('ghost', 'scrypt$new', T0 + 7)).toBe(false);
      expect(await c.store.delete('a2')).toBe(true);
      expect(await c.store.delete('a2')).toBe(false);
      await c.reopen();
      expect(await c.store.all()).toEqual([account('a1', { passwordHash: 'scrypt$new', passwordSetAt: T0 + 7 })]);
    });
  });
}
