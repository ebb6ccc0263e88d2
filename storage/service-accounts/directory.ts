import type { ServiceAccountInput } from '../../core/service-accounts.js';
import { generateSecret, hashSecret, verifySecret } from '../../core/secrets.js';
import { isValidId } from '../../core/topics.js';
import { DuplicateError } from '../state/contract.js';
import type { ServiceAccountRecord, ServiceAccountStore, ServiceAccountWithSecret } from './contract.js';

/**
 * Service accounts as the running platform uses them: the broker looks one up at every CONNECT,
 * synchronously, from memory; changes go to the store first, then to memory, then to the
 * listeners (the composition root disconnects an account that was deleted or got a new secret).
 * Secrets are generated here, answered once, and kept only as scrypt hashes.
 */

export type ServiceAccountChange = 'created' | 'deleted' | 'secret_rotated' | 'bootstrapped';

export interface ServiceAccountDirectory {
  load(): Promise<void>;
  /** With its secret hash, for the broker's authentication. */
  get(id: string): ServiceAccountWithSecret | undefined;
  list(): ServiceAccountRecord[];
  /** Rejects with DuplicateError when the id is taken (by an account, or by a device per `isTaken`). */
  create(input: ServiceAccountInput): Promise<{ account: ServiceAccountRecord; secret: string }>;
  /** A new random secret, answered this once; undefined when there is no such account. */
  rotateSecret(id: string): Promise<string | undefined>;
  delete(id: string): Promise<boolean>;
  /**
   * The accounts the environment defines (the ingest account from ANJU_INGEST_USER/_PASSWORD):
   * each exists with exactly these rights and password afterwards (the stored hash is kept while the
   * password still matches it), and an account an earlier start took from the environment but this
   * one does not name is deleted — the environment alone decides which `env` accounts exist.
   */
  syncFromEnvironment(accounts: ReadonlyArray<{ id: string; password: string; rights: Omit<ServiceAccountInput, 'id'> }>): Promise<void>;
  onChange(listener: (id: string, change: ServiceAccountChange) => void): () => void;
  /**
   * Re-reads one account after another node changed it (cluster mode), telling `onChange` listeners
   * what changed here (created, deleted, or secret_rotated when its secret differs).
   */
  refresh(id: string): Promise<void>;
}

const withoutSecret = ({ secretHash: _, ...record }: ServiceAccountWithSecret): ServiceAccountRecord => record;

export function createServiceAccountDirectory(deps: {
  store: ServiceAccountStore;
  /** True when the id belongs to something else that authenticates with it (a device). */
  isTaken?: (id: string) => boolean;
  clock?: () => number;
}): ServiceAccountDirectory {
  const { store } = deps;
  const clock = deps.clock ?? Date.now;
  const accounts = new Map<string, ServiceAccountWithSecret>();
  const listeners = new Set<(id: string, change: ServiceAccountChange) => void>();
  const emit = (id: string, change: ServiceAccountChange) => {
    for (const listener of listeners) listener(id, change);
  };

  return {
    async load() {
      const all = await store.all();
      accounts.clear();
      for (const a of all) accounts.set(a.id, a);
    },
    get: (id) => accounts.get(id),
    list: () => [...accounts.values()].map(withoutSecret),

    async create(input) {
      if (accounts.has(input.id)) throw new DuplicateError(`service account ${input.id} already exists`);
      if (deps.isTaken?.(input.id)) throw new DuplicateError(`${input.id} is a device id; a service account needs an id of its own (the MQTT username names one principal)`);
      const secret = generateSecret();
      const now = clock();
      const account: ServiceAccountWithSecret = {
        id: input.id, publish: [...input.publish], subscribe: [...input.subscribe], deny: [...input.deny],
        origin: 'api', createdAt: now, secretSetAt: now, secretHash: await hashSecret(secret),
      };
      await store.create(account);
      accounts.set(account.id, account);
      emit(account.id, 'created');
      return { account: withoutSecret(account), secret };
    },

    async rotateSecret(id) {
      const current = accounts.get(id);
      if (!current) return undefined;
      const secret = generateSecret();
      const now = clock();
      const secretHash = await hashSecret(secret);
      if (!(await store.setSecretHash(id, secretHash, now))) return undefined;
      accounts.set(id, { ...current, secretHash, secretSetAt: now });
      emit(id, 'secret_rotated');
      return secret;
    },

    async delete(id) {
      const deleted = await store.delete(id);
      accounts.delete(id);
      if (deleted) emit(id, 'deleted');
      return deleted;
    },

    async syncFromEnvironment(wanted) {
      for (const { id, password, rights } of wanted) {
        // The hub may log in to another broker with any user name; an account on ours is an id.
        if (!isValidId(id)) throw new Error(`ANJU_INGEST_USER ${JSON.stringify(id)} cannot name a service account of Anju's broker: use letters, digits, "_", "-", "." (at most 64)`);
        if (password.length === 0) throw new Error(`service account ${id}: empty password`);
        const current = accounts.get(id);
        if (current?.origin === 'api') throw new DuplicateError(`service account ${id} was created through the API; ANJU_INGEST_USER must name another account`);
        if (deps.isTaken?.(id)) throw new DuplicateError(`ANJU_INGEST_USER ${id} is a device id; choose another name`);
        const now = clock();
        const same = current !== undefined && (await verifySecret(password, current.secretHash));
        const account: ServiceAccountWithSecret = {
          id, publish: [...rights.publish], subscribe: [...rights.subscribe], deny: [...rights.deny], origin: 'env',
          createdAt: current?.createdAt ?? now,
          secretSetAt: same ? current.secretSetAt : now,
          secretHash: same ? current.secretHash : await hashSecret(password),
        };
        await store.put(account);
        accounts.set(id, account);
        emit(id, same ? 'bootstrapped' : 'secret_rotated');
      }
      for (const account of [...accounts.values()]) {
        if (account.origin !== 'env' || wanted.some((w) => w.id === account.id)) continue;
        await store.delete(account.id);
        accounts.delete(account.id);
        emit(account.id, 'deleted');
      }
    },

    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async refresh(id) {
      const before = accounts.get(id);
      const now = await store.get(id);
      if (now) accounts.set(id, now);
      else accounts.delete(id);
      if (!before && now) emit(id, 'created');
      else if (before && !now) emit(id, 'deleted');
      else if (before && now && before.secretHash !== now.secretHash) emit(id, 'secret_rotated');
    },
  };
}
