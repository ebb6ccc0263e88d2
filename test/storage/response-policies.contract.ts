import { expect, it } from 'vitest';
import { responsePolicySchema } from '../../core/responses.js';
import type { ResponsePolicyStore } from '../../storage/responses/contract.js';
import { withContract, type StoreHarness } from './contract-scaffold.js';

/**
 * The abstract ResponsePolicyStore suite: the embedded DuckDB store and the PostgreSQL one of
 * cluster mode run it unchanged. Not a test file itself (no `.test.ts`).
 */
export type ResponsePolicyStoreHarness = StoreHarness<ResponsePolicyStore>;

const T0 = Date.UTC(2026, 0, 1);

const closeOnBurst = responsePolicySchema.parse({
  allowAuto: true,
  rules: [{ alarm: 'water_burst', purposes: ['household'], command: 'close', mode: 'auto_after', autoAfterMinutes: 10, ttlSeconds: 600 }],
});
const proposeBreaker = responsePolicySchema.parse({ rules: [{ alarm: 'residual_current', minSeverity: 'critical', command: 'open' }] });

export function responsePolicyStoreContract(name: string, open: () => Promise<ResponsePolicyStoreHarness>): void {
  withContract(`ResponsePolicyStore contract: ${name}`, open, (c) => {

    it('keeps nothing at first, then each site\'s policy exactly as given, ordered by site', async () => {
      expect(await c.store.all()).toEqual([]);
      await c.store.put({ site: 'yuhua', policy: proposeBreaker, updatedAt: T0 + 1, updatedBy: 'token:ops' });
      await c.store.put({ site: 'chundu', policy: closeOnBurst, updatedAt: T0, updatedBy: 'account:a1' });
      expect(await c.store.all()).toEqual([
        { site: 'chundu', policy: closeOnBurst, updatedAt: T0, updatedBy: 'account:a1' },
        { site: 'yuhua', policy: proposeBreaker, updatedAt: T0 + 1, updatedBy: 'token:ops' },
      ]);
    });

    it('replaces a site\'s policy whole, and removes it, answering whether there was one', async () => {
      await c.store.put({ site: 'chundu', policy: closeOnBurst, updatedAt: T0, updatedBy: 'account:a1' });
      await c.store.put({ site: 'chundu', policy: proposeBreaker, updatedAt: T0 + 5, updatedBy: 'account:a2' });
      expect(await c.store.all()).toEqual([{ site: 'chundu', policy: proposeBreaker, updatedAt: T0 + 5, updatedBy: 'account:a2' }]);
      expect(await c.store.remove('chundu')).toBe(true);
      expect(await c.store.remove('chundu')).toBe(false);
      expect(await c.store.all()).toEqual([]);
    });

    it('keeps every policy across a restart', async () => {
      await c.store.put({ site: 'chundu', policy: closeOnBurst, updatedAt: T0, updatedBy: 'account:a1' });
      const again = await c.reopen();
      expect(await again.all()).toEqual([{ site: 'chundu', policy: closeOnBurst, updatedAt: T0, updatedBy: 'account:a1' }]);
    });
  });
}
