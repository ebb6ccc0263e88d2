import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServiceAccountStore, ServiceAccountWithSecret } from '../../storage/service-accounts/contract.js';
import { DuplicateError } from '../../storage/state/contract.js';

/**
 * The abstract ServiceAccountStore suite: the embedded DuckDB store runs it today, the PostgreSQL
 * one of cluster mode must pass it unchanged. Not a test file itself (no `.test.ts`).
 *
 * `open` gives a fresh, empty store; `reopen` closes it and opens a new one on the same storage.
 */
export interface ServiceAccountStoreHarness {
  store: ServiceAccountStore;
  reopen(): Promise<ServiceAccountStore>;
  cleanup(): Promise<void>;
}

const T0 = Date.UTC(2026, 0, 1);

const account = (id: string, extra: Partial<ServiceAccountWithSecret> = {}): ServiceAccountWithSecret => ({
  id, publish: ['anju/alerts/+/+'], subscribe: ['devices/+/telemetry', '$SYS/#'], deny: ['devices/d2/#'],
  origin: 'api', createdAt: T0, secretSetAt: T0, secretHash: `scrypt$hash-of-${id}`, ...extra,
});

export function serviceAccountStoreContract(name: string, open: () => Promise<ServiceAccountStoreHarness>): void {
  describe(`ServiceAccountStore contract: ${name}`, () => {
    let h: ServiceAccountStoreHarness;
    let store: ServiceAccountStore;
    beforeEach(async () => {
      h = await open();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('creates and reads back an account exactly, filters in order, hash included', async () => {
      const a = account('bms', { publish: ['devices/+/commands/#', 'bms/#'], deny: [] });
      await store.create(a);
      expect(await store.get('bms')).toEqual(a);
      expect(await store.get('nobody')).toBeUndefined();
    });

    it('refuses a second account with the same id (DuplicateError), leaving the first as it was', async () => {
      await store.create(account('bms'));
      await expect(store.create(account('bms', { secretHash: 'other' }))).rejects.toBeInstanceOf(DuplicateError);
      expect((await store.get('bms'))?.secretHash).toBe('scrypt$hash-of-bms');
    });

    it('lists every account ordered by id', async () => {
      for (const id of ['zeta', 'alpha', 'mid']) await store.create(account(id));
      expect((await store.all()).map((a) => a.id)).toEqual(['alpha', 'mid', 'zeta']);
    });

    it('put creates, then replaces everything but createdAt', async () => {
      await store.put(account('anju-ingest', { origin: 'env' }));
      await store.put(account('anju-ingest', { origin: 'env', publish: [], subscribe: ['#'], deny: ['x'], createdAt: T0 + 5, secretSetAt: T0 + 9, secretHash: 'new' }));
      expect(await store.get('anju-ingest')).toEqual(account('anju-ingest', { origin: 'env', publish: [], subscribe: ['#'], deny: ['x'], createdAt: T0, secretSetAt: T0 + 9, secretHash: 'new' }));
    });

    it('replaces a secret hash and its time, and says when there is no such account', async () => {
      await store.create(account('bms'));
      expect(await store.setSecretHash('bms', 'rotated', T0 + 60_000)).toBe(true);
      expect(await store.get('bms')).toMatchObject({ secretHash: 'rotated', secretSetAt: T0 + 60_000, createdAt: T0 });
      expect(await store.setSecretHash('nobody', 'x', T0)).toBe(false);
    });

    it('deletes, and says whether there was something to delete', async () => {
      await store.create(account('bms'));
      expect(await store.delete('bms')).toBe(true);
      expect(await store.delete('bms')).toBe(false);
      expect(await store.get('bms')).toBeUndefined();
      expect(await store.all()).toEqual([]);
    });

    it('keeps unusual but valid filters byte for byte ($SYS, +, #, non-ASCII)', async () => {
      const a = account('gw', { publish: ['楼宇/+/告警', '#'], subscribe: ['$SYS/+/clients/#'], deny: ['+/+/+'] });
      await store.create(a);
      expect(await store.get('gw')).toEqual(a);
    });

    it('keeps everything across a close and reopen', async () => {
      await store.create(account('bms'));
      await store.setSecretHash('bms', 'rotated', T0 + 1);
      store = await h.reopen();
      expect(await store.get('bms')).toEqual(account('bms', { secretHash: 'rotated', secretSetAt: T0 + 1 }));
    });
  });
}
