/**
 * The ServiceAccountStore contract: MQTT service accounts (ingest workers, bridges, a BMS or
 * fire-panel gateway) with their topic filters and the scrypt hash of their secret. Implemented on
 * the embedded DuckDB state store (storage/embedded/service-accounts.ts); a PostgreSQL one follows
 * for cluster mode and must pass the same suite (test/storage/service-accounts.contract.ts).
 */

/** `api`: made and removed through the API. `env`: the ingest account, recreated from ANJU_INGEST_USER/_PASSWORD at every start. */
export const serviceAccountOrigins = ['api', 'env'] as const;
export type ServiceAccountOrigin = (typeof serviceAccountOrigins)[number];

export interface ServiceAccountRecord {
  readonly id: string;
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
  readonly deny: readonly string[];
  readonly origin: ServiceAccountOrigin;
  readonly createdAt: number;
  /** When the current secret was set (creation or the last rotation). */
  readonly secretSetAt: number;
}

export interface ServiceAccountWithSecret extends ServiceAccountRecord {
  /** scrypt hash (core/secrets) of the secret; never the secret itself. */
  readonly secretHash: string;
}

export interface ServiceAccountStore {
  /** Rejects with DuplicateError when the id exists. */
  create(account: ServiceAccountWithSecret): Promise<void>;
  /** Creates the account, or replaces everything but its `createdAt`. */
  put(account: ServiceAccountWithSecret): Promise<void>;
  get(id: string): Promise<ServiceAccountWithSecret | undefined>;
  /** Every account, ordered by id. */
  all(): Promise<ServiceAccountWithSecret[]>;
  /** False when there is no such account. */
  setSecretHash(id: string, secretHash: string, at: number): Promise<boolean>;
  delete(id: string): Promise<boolean>;
  close(): Promise<void>;
}
