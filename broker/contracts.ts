/**
 * Policy the broker is given, Aedes-style: the core wires listeners and hooks, and who may
 * connect or publish is decided by these injected functions. Safe defaults: nobody.
 */

/** A service account (ingest worker, bridge, integration) with explicit topic patterns. */
export interface ServiceAccount {
  readonly username: string;
  /** scrypt hash (core/secrets.ts) of its password. */
  readonly passwordHash: string;
  /** MQTT topic filters it may publish to. */
  readonly publish: readonly string[];
  /** MQTT topic filters it may subscribe within. */
  readonly subscribe: readonly string[];
}

export interface BrokerPolicy {
  /** Verifies a device's id and secret against the registry. */
  authenticateDevice(deviceId: string, secret: string): Promise<boolean>;
  readonly serviceAccounts: readonly ServiceAccount[];
}
