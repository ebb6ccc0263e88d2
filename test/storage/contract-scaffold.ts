import { afterEach, beforeEach, describe } from 'vitest';

/**
 * What an implementation hands a store contract suite: `store` is a fresh, empty store; `reopen`
 * closes it and opens a new one on the same storage (a restart); `cleanup` closes whatever is open
 * and removes the storage. Embedded DuckDB builds one with embeddedStoreHarness; the next backend
 * builds its own and runs the same suites unchanged.
 */
export interface StoreHarness<S> {
  readonly store: S;
  reopen(): Promise<S>;
  cleanup(): Promise<void>;
}

/** The store a contract's tests speak to: a fresh one per test; `reopen()` restarts it and `store` is then the new one. */
export interface ContractStore<S> {
  readonly store: S;
  reopen(): Promise<S>;
}

/**
 * One scaffold for every store contract: a `describe` whose tests each get a fresh store, cleaned
 * up after the test whatever its outcome, so each suite states only what the contract promises.
 */
export function withContract<S>(title: string, open: () => Promise<StoreHarness<S>>, body: (c: ContractStore<S>) => void): void {
  describe(title, () => {
    let harness: StoreHarness<S> | undefined;
    let current: S | undefined;
    beforeEach(async () => {
      harness = await open();
      current = harness.store;
    });
    afterEach(async () => {
      const h = harness;
      harness = undefined;
      current = undefined;
      await h?.cleanup();
    });
    const opened = (): StoreHarness<S> => {
      if (!harness) throw new Error(`${title}: no store is open outside a test`);
      return harness;
    };
    body({
      get store(): S {
        opened();
        return current as S;
      },
      async reopen() {
        current = await opened().reopen();
        return current;
      },
    });
  });
}
