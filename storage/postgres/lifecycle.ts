import { DatabaseClosedError } from '../embedded/connection.js';

/**
 * The stores of one PostgreSQL database share one pool; the pool ends when the last store is
 * closed (or the database as a whole). After that, every call rejects with DatabaseClosedError (the
 * same coded error the embedded stores answer, so the API maps both alike).
 */
export interface StoreLifecycle {
  /** Throws DatabaseClosedError once `store` (or the database) is closed. */
  open(store: string): void;
  /** Closes one store; idempotent. Resolves once the pool has ended if it was the last one. */
  release(store: string): Promise<void>;
  /** Closes every store and ends the pool. */
  closeAll(): Promise<void>;
}

export function createStoreLifecycle(stores: readonly string[], end: () => Promise<void>): StoreLifecycle {
  const openStores = new Set(stores);
  let ending: Promise<void> | undefined;
  const finish = () => (ending ??= end());
  return {
    open(store) {
      if (ending || !openStores.has(store)) throw new DatabaseClosedError(`PostgreSQL ${store} store is closed`);
    },
    async release(store) {
      openStores.delete(store);
      if (openStores.size === 0) await finish();
    },
    async closeAll() {
      openStores.clear();
      await finish();
    },
  };
}
