import { expect, it } from 'vitest';
import { withContract, type StoreHarness } from './contract-scaffold.js';
import type { ServiceAccountStore, ServiceAccountWithSecret } from '../../storage/service-accounts/contract.js';
import { DuplicateError } from '../../storage/state/contract.js';

/**
 * The abstract ServiceAccountStore suite: the embedded DuckDB store runs it today, the PostgreSQL
 * one of cluster mode must pass it unchanged. Not a test file itself (no `.test.ts`).
 *
 * `open` gives a fresh, empty store; `reopen` closes it and opens a new one on the same storage.
 */
export type ServiceAccountStoreHarness = StoreHarness<ServiceAccountStore>;

const T0 = Date.UTC(2026, 0, 1);

const account = (id: string, extra: Partial<ServiceAccountWithSecret> = {}): ServiceAccountWithSecret => ({
  id, publish: ['anju/alerts/+/+'], subscribe: ['devices/+/telemetry', '$SYS/#'], deny: ['devices/d2/#'],
  origin: 'api', createdAt: T0, secretSetAt: T0, secretHash: `scrypt$hash-of-${id}`, ...extra,
});

export function serviceAccountStoreContract(name: string, open: () => Promise<ServiceAccountStoreHarness>): void {
  withContract(`ServiceAccountStore contract: ${name}`, open, (c) => {

    it('creates and reads back an account exactly, filters in order, hash included', async () => {
      const a = account('bms', { publish: ['devices/+/commands/#', 'bms/#'], deny: [] });
      await c.store.create(a);
      expect(await c.store.get('bms')).toEqual(a);
      expect(await c.store.get('nobody')).toBeUndefined();
    });

    it('refuses a second account with the same id (DuplicateError), leaving the first as it was', async () => {
      await c.store.create(account('bms'));
      await expect(c.store.create(account('bms', { secretHash: 'other' }))).rejects.toBeInstanceOf(DuplicateError);
      expect((await c.store.get('bms'))?.secretHash).toBe('scrypt$hash-of-bms');
    });

    it('lists every account ordered by id', async () => {
      for (const id of ['zeta', 'alpha', 'mid']) await c.store.create(account(id));
      expect((await c.store.all()).map((a) => a.id)).toEqual(['alpha', 'mid', 'zeta']);
    });

    it('put creates, then replaces everything but createdAt', async () => {
      await c.store.put(account('anju-ingest', { origin: 'env' }));
      await c.store.put(account('anju-ingest', { origin: 'env', publish: [], subscribe: ['#'], deny: ['x'], createdAt: T0 + 5, secretSetAt: T0 + 9, secretHash: 'new' }));
      expect(await c.store.get('anju-ingest')).toEqual(account('anju-ingest', { origin: 'env', publish: [], subscribe: ['#'], deny: ['x'], createdAt: T0, secretSetAt: T0 + 9, secretHash: 'new' }));
    });

    it('replaces a secret hash and its time, and says when there is no such account', async () => {
      await c.store.create(account('bms'));
      expect(await c.store.setSecretHash('bms', 'rotated', T0 + 60_000)).toBe(true);
      expect(await c.store.get('bms')).toMatchObject({ secretHash: 'rotated', secretSetAt: T0 + 60_000, createdAt: T0 });
      expect(await c.store.setSecretHash('nobody', 'x', T0)).toBe(false);
    });

    it('deletes, and says whether there was something to delete', async () => {
      await c.store.create(account('bms'));
      expect(await c.store.delete('bms')).toBe(true);
      expect(await c.store.delete('bms')).toBe(false);
      expect(await c.store.get('bms')).toBeUndefined();
      expect(await c.store.all()).toEqual([]);
    });

    it('keeps unusual but valid filters byte for byte ($SYS, +, #, non-ASCII)', async () => {
      const a = account('gw', { publish: ['楼宇/+/告警', '#'], subscribe: ['$SYS/+/clients/#'], deny: ['+/+/+'] });
      await c.store.create(a);
      expect(await c.store.get('gw')).toEqual(a);
    });

    it('keeps everything across a close and reopen', async () => {
      await c.store.create(account('bms'));
      await c.store.setSecretHash('bms', 'rotated', T0 + 1);
      await c.reopen();
      expect(await c.store.get('bms')).toEqual(account('bms', { secretHash: 'rotated', secretSetAt: T0 + 1 }));
    });
  });
}
