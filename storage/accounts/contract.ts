import type { RoleGrant } from '../../core/accounts.js';

/**
 * The AccountStore contract: people who log in to the control room, their site-scoped roles and
 * the scrypt hash of their password. Implemented on the embedded DuckDB state store
 * (storage/embedded/accounts.ts, migration 9); a PostgreSQL one for cluster mode must pass the same
 * suite (test/storage/accounts.contract.ts).
 */

export interface AccountRecord {
  readonly id: string;
  /** Unique, lower-case. */
  readonly login: string;
  readonly displayName: string;
  readonly phone?: string;
  readonly wecomUserId?: string;
  readonly dingtalkUserId?: string;
  readonly grants: readonly RoleGrant[];
  readonly disabled: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** When the password was last set; undefined while there is none. */
  readonly passwordSetAt?: number;
}

export interface AccountWithPassword extends AccountRecord {
  /** scrypt hash (core/secrets hashPassword); undefined: no password, no login. */
  readonly passwordHash?: string;
}

export interface AccountStore {
  /** Rejects with DuplicateError when the id or the login is taken. */
  create(account: AccountWithPassword): Promise<void>;
  /** Replaces everything but id, createdAt and the password; DuplicateError when the new login is taken. False when there is no such account. */
  update(account: AccountRecord): Promise<boolean>;
  get(id: string): Promise<AccountWithPassword | undefined>;
  /** By login name (exact, lower-case). */
  byLogin(login: string): Promise<AccountWithPassword | undefined>;
  /** Every account, ordered by login. */
  all(): Promise<AccountWithPassword[]>;
  /** False when there is no such account. */
  setPasswordHash(id: string, passwordHash: string, at: number): Promise<boolean>;
  delete(id: string): Promise<boolean>;
  close(): Promise<void>;
}
