/**
 * Policy the broker is given, Aedes-style: the core wires listeners and hooks, and who may
 * connect or publish is decided by these injected functions. Safe defaults: nobody.
 */

/** A service account (ingest worker, bridge, integration) with explicit topic filters. */
export interface ServiceAccount {
  readonly username: string;
  /** scrypt hash (core/secrets.ts) of its password. */
  readonly passwordHash: string;
  /** MQTT topic filters it may publish to. */
  readonly publish: readonly string[];
  /** MQTT topic filters it may subscribe within. */
  readonly subscribe: readonly string[];
  /** Topic filters it may neither publish to nor receive from: deny wins over the two above. */
  readonly deny?: readonly string[];
}

export interface BrokerPolicy {
  /** Verifies a device's id and secret against the registry. */
  authenticateDevice(deviceId: string, secret: string): Promise<boolean>;
  /**
   * Whether a device with this id is registered: asked when a TLS client certificate names it
   * (the certificate stands in for the secret). Absent: no certificate authenticates anyone.
   */
  deviceRegistered?(deviceId: string): boolean | Promise<boolean>;
  /**
   * The service account with this username, if any. Looked up at each CONNECT, so an account
   * created, rotated or deleted through the API applies to the next connection.
   */
  serviceAccount(username: string): ServiceAccount | undefined;
}

/** A policy over a fixed list of accounts (tests, benchmarks, a broker configured from the environment only). */
export function staticServiceAccounts(accounts: readonly ServiceAccount[]): (username: string) => ServiceAccount | undefined {
  const byName = new Map(accounts.map((a) => [a.username, a]));
  return (username) => byName.get(username);
}
