import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createBroker, defaultIngestDelivery, type AnjuBroker, type BrokerBackplane } from '../../broker/index.js';
import type { AnjuConfig } from '../../core/config.js';
import { ingestAccountRights, topics } from '../../core/index.js';
import type { DeviceDirectory, ServiceAccountDirectory } from '../../storage/index.js';
import { listenError } from '../startup-errors.js';
import type { TlsMaterial } from '../tls.js';

/** The embedded broker as the composition hands it out: `open()` names the setting to change when a port is taken. */
export interface AssembledBroker extends AnjuBroker {
  /** The URLs of the listeners that are open. */
  urls(): { mqtt?: string; ws?: string; mqtts?: string; wss?: string };
}

export interface AssembleBrokerDeps {
  directory: DeviceDirectory;
  /** Without it only devices connect (benchmarks); with it the ingest account follows ANJU_INGEST_PASSWORD. */
  serviceAccounts?: ServiceAccountDirectory;
  tls?: TlsMaterial;
  /**
   * Where telemetry goes: `in-process` (the default) when a hub in this process attaches its ingest
   * source; `subscribers` for `anju broker`, whose ingest is a hub's persistent session.
   */
  ingest?: 'in-process' | 'subscribers';
  /** Cluster mode (ANJU_REDIS_URL): sessions and publish/subscribe shared with the other nodes. */
  backplane?: BrokerBackplane;
  logger: Logger;
  metrics: Registry;
}

/**
 * The broker of `anju all` and `anju broker`, created but not listening: call `open()` once a
 * hub's ingest source is attached (`assembleHub` resolved). Until then a CONNECT gets CONNACK 3.
 */
export async function assembleBroker(config: AnjuConfig, deps: AssembleBrokerDeps): Promise<AssembledBroker> {
  const { directory, serviceAccounts, tls } = deps;
  if (serviceAccounts) {
    // The ingest account exists exactly while ANJU_INGEST_PASSWORD is set (its rights: core/service-accounts.ts).
    await serviceAccounts.syncFromEnvironment(config.ingest.password
      ? [{ id: config.ingest.username, password: config.ingest.password, rights: ingestAccountRights }]
      : []);
  }
  const broker = await createBroker(
    {
      host: config.mqtt.host, port: config.mqtt.port, wsPort: config.mqtt.wsPort,
      // Frames above the payload limit are cut at the socket, before they are buffered; payloads
      // between the two are refused by ingest with a counted reason (too_large), not a dropped connection.
      maxFrameBytes: Math.max(256 * 1024, config.mqtt.maxPayloadBytes * 4),
      connectRatePerMinute: config.mqtt.connectRatePerMinute, drainTimeoutMs: 30_000,
      ingest: deps.ingest === 'subscribers' ? { via: 'subscribers', topics: [topics.allTelemetry] } : defaultIngestDelivery,
      plaintext: config.plaintext,
      ...(deps.backplane && config.redis ? { heartbeatMs: config.redis.heartbeatMs } : {}),
      ...(config.tls && tls ? {
        tls: {
          port: config.tls.mqttsPort, wsPort: config.tls.wssPort, context: tls.context,
          clientCerts: !config.tls.caFile ? 'none' as const : config.tls.requireClientCert ? 'required' as const : 'optional' as const,
        },
      } : {}),
    },
    {
      policy: {
        authenticateDevice: (id, secret) => directory.verify(id, secret),
        deviceRegistered: (id) => directory.get(id) !== undefined,
        serviceAccount: (username) => {
          const a = serviceAccounts?.get(username);
          return a && { username: a.id, passwordHash: a.secretHash, publish: a.publish, subscribe: a.subscribe, deny: a.deny };
        },
      },
      ...(deps.backplane ? { backplane: deps.backplane } : {}),
      logger: deps.logger.child({ part: 'broker' }), metrics: deps.metrics,
    },
  );
  tls?.onReload((context) => broker.setSecureContext(context));
  // A deleted account, or one with a new secret, keeps no connection opened with the old one.
  serviceAccounts?.onChange((id, change) => {
    if (change === 'deleted' || change === 'secret_rotated') broker.disconnect({ kind: 'service', name: id });
  });

  const open = async () => {
    try {
      await broker.open();
    } catch (err) {
      // Which listener failed: the error carries the port it tried (ports are distinct, core/config).
      const port = (err as { port?: number }).port;
      const listeners: [string, string, number | undefined][] = [
        ['MQTT over WebSocket', 'ANJU_WS_PORT', config.mqtt.wsPort],
        ['MQTT over TLS', 'ANJU_MQTTS_PORT', config.tls?.mqttsPort],
        ['MQTT over secure WebSocket', 'ANJU_WSS_PORT', config.tls?.wssPort],
      ];
      const [what, variable, listenerPort] = listeners.find(([, , p]) => p !== undefined && p !== 0 && p === port) ?? ['MQTT', 'ANJU_MQTT_PORT', config.mqtt.port];
      throw listenError(err, what, variable, config.mqtt.host, listenerPort ?? config.mqtt.port);
    }
  };
  const urls = () => {
    const h = displayHost(config.mqtt.host);
    return {
      ...(broker.tcpPort ? { mqtt: `mqtt://${h}:${broker.tcpPort}`, ws: `ws://${h}:${broker.wsPort}/mqtt` } : {}),
      ...(broker.tlsPort ? { mqtts: `mqtts://${h}:${broker.tlsPort}`, wss: `wss://${h}:${broker.wssPort}/mqtt` } : {}),
    };
  };
  // The broker's own object as prototype: its ports and `closed` stay live getters.
  return Object.assign(Object.create(broker) as AnjuBroker, { open, urls });
}

/** A wildcard listen address is shown as `localhost` in the URLs. */
export function displayHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? 'localhost' : host;
}
