import type { Aedes, Client, Subscription } from 'aedes';
import type { Logger } from 'pino';
import { parseDeviceTopic, topicMatches } from '../core/topics.js';
import type { SubscriptionLookup } from './admission.js';
import type { ClusterEmitter } from './backplane.js';
import { CLIENT_ID_SEPARATOR, clientIdAllowed } from './authenticate.js';
import { principalOf } from './principal.js';

/**
 * Who would receive a command, and when a device starts listening for them.
 *
 * Aedes drops a publish that matches no subscription without a word. A command published while its
 * device has neither a connection subscribed to its commands nor a persistent session (clean
 * session = 0, MQTT 3.1.1 §3.1.2.4) would be lost yet look `sent`; the dispatcher asks `reaches`
 * first and holds the command until `onCommandSubscribe` says the device listens.
 */

/** A device subscribed (granted) to filters that cover at least one of its command topics. */
export type CommandSubscribeListener = (subscribed: { deviceId: string; filters: readonly string[] }) => void;

export interface CommandAudience {
  /**
   * Whether a publish on `topic` (a device's command topic) now reaches its device: a live
   * connection of that device subscribed to it, or a persistent session of that device (its
   * client id is the device's, authenticate.ts) with a stored QoS ≥ 1 subscription, kept while it is
   * offline. A service account's subscription to the same topic (a gateway watching) does not count.
   */
  reaches(topic: string): Promise<boolean>;
  onCommandSubscribe(listener: CommandSubscribeListener): () => void;
}

/** A device's connection on another node, as that node's `$SYS` announcements describe it. */
interface RemoteListener { readonly broker: string; readonly filters: Set<string> }

export function createCommandAudience(deps: {
  aedes: Aedes;
  live: ReadonlySet<Client>;
  persistence: () => SubscriptionLookup;
  logger: Logger;
  /**
   * Cluster mode: the backplane's emitter and this node's broker id. A clean session's subscriptions
   * are kept by the node it is connected to only (Aedes persists those of persistent sessions alone),
   * so without this a command sent through one node for a device listening on another was held there
   * until it expired — and a device subscribing on another node never flushed what this one held.
   */
  cluster?: { readonly mq: ClusterEmitter; readonly brokerId: string; readonly heartbeatMs: number; readonly now?: () => number };
}): CommandAudience {
  const { aedes, live, logger } = deps;
  const listeners = new Set<CommandSubscribeListener>();
  const tell = (deviceId: string, filters: readonly string[]) => {
    for (const listener of listeners) {
      try {
        listener({ deviceId, filters });
      } catch (err) {
        logger.error({ err, device: deviceId }, 'command subscribe listener failed');
      }
    }
  };

  /** Devices' connections on other nodes subscribed to their commands: device id ▶ client id ▶ where, and to what. */
  const remote = new Map<string, Map<string, RemoteListener>>();
  /** The device a client id belongs to (its id, or its id, `:` and a suffix: authenticate.ts). */
  const deviceOf = (clientId: string) => clientId.split(CLIENT_ID_SEPARATOR)[0] ?? clientId;
  const drop = (clientId: string, unless: (entry: RemoteListener) => boolean) => {
    const ofDevice = remote.get(deviceOf(clientId));
    const entry = ofDevice?.get(clientId);
    if (!ofDevice || !entry || unless(entry)) return;
    ofDevice.delete(clientId);
    if (ofDevice.size === 0) remote.delete(deviceOf(clientId));
  };
  /**
   * When each other node was last heard (its heartbeat, or any announcement). A node that crashed
   * sends no disconnects: what it said of its devices stops counting after three missed heartbeats
   * (Aedes's own rule for a dead broker), so their commands are held again instead of published to nobody.
   */
  const heard = new Map<string, number>();
  const clock = deps.cluster?.now ?? Date.now;
  const alive = (broker: string) => deps.cluster === undefined || (heard.get(broker) ?? 0) + 3 * deps.cluster.heartbeatMs >= clock();
  if (deps.cluster) {
    const { mq, brokerId } = deps.cluster;
    /** The other node a `$SYS` topic comes from (noted as heard now), or undefined for this one's own. */
    const heardFrom = (topic: string): string | undefined => {
      const from = topic.split('/')[1];
      if (!from || from === brokerId) return undefined;
      heard.set(from, clock());
      return from;
    };
    mq.on('$SYS/+/heartbeat', (message, done) => {
      heardFrom(message.topic);
      done();
    });
    const parse = (payload: unknown): { clientId?: unknown; subs?: unknown } | undefined => {
      try {
        return JSON.parse(String(payload ?? '')) as { clientId?: unknown; subs?: unknown };
      } catch {
        return undefined;
      }
    };
    // Aedes announces every SUBSCRIBE (granted qos; 128 = refused, §3.9.3), UNSUBSCRIBE, connect and
    // disconnect on `$SYS/<broker>/…`, through the backplane to every node.
    mq.on('$SYS/+/new/subscribes', (message, done) => {
      const from = heardFrom(message.topic);
      const m = from ? parse(message.payload) : undefined;
      if (from && m && typeof m.clientId === 'string' && Array.isArray(m.subs)) {
        const clientId = m.clientId;
        const deviceId = deviceOf(clientId);
        const own = `devices/${deviceId}/commands/`;
        const filters = (m.subs as Array<{ topic?: unknown; qos?: unknown }>)
          .filter((sub) => sub.qos !== 128 && typeof sub.topic === 'string' && sub.topic.startsWith(own))
          .map((sub) => sub.topic as string);
        if (filters.length > 0 && clientIdAllowed(deviceId, clientId)) {
          let ofDevice = remote.get(deviceId);
          if (!ofDevice) remote.set(deviceId, (ofDevice = new Map()));
          let entry = ofDevice.get(clientId);
          if (entry?.broker !== from) ofDevice.set(clientId, (entry = { broker: from, filters: new Set() }));
          for (const f of filters) entry.filters.add(f);
          tell(deviceId, filters);
        }
      }
      done();
    });
    mq.on('$SYS/+/new/unsubscribes', (message, done) => {
      const from = heardFrom(message.topic);
      const m = from ? parse(message.payload) : undefined;
      if (from && m && typeof m.clientId === 'string' && Array.isArray(m.subs)) {
        const entry = remote.get(deviceOf(m.clientId))?.get(m.clientId);
        if (entry?.broker === from) for (const f of m.subs as unknown[]) entry.filters.delete(String(f));
        drop(m.clientId, (e) => e.filters.size > 0);
      }
      done();
    });
    // A connection's end takes its clean-session subscriptions with it; a connection of that client id
    // on another node (a takeover) starts without them.
    mq.on('$SYS/+/disconnect/clients', (message, done) => {
      const from = message.topic.split('/')[1];
      drop(String(message.payload ?? ''), (e) => e.broker !== from);
      done();
    });
    mq.on('$SYS/+/new/clients', (message, done) => {
      const from = message.topic.split('/')[1];
      drop(String(message.payload ?? ''), (e) => e.broker === from);
      done();
    });
  }

  aedes.on('subscribe', (subs: Subscription[], client: Client) => {
    const principal = principalOf(client);
    if (listeners.size === 0 || principal?.kind !== 'device') return;
    // Refused filters come back with qos 128 (SUBACK failure, §3.9.3); the ACL grants a device
    // nothing wider than its own `devices/{id}/commands/#`.
    const own = `devices/${principal.deviceId}/commands/`;
    const filters = subs.filter((s) => (s.qos as number) !== 128 && s.topic.startsWith(own)).map((s) => s.topic);
    if (filters.length === 0) return;
    tell(principal.deviceId, filters);
  });

  return {
    async reaches(topic) {
      const device = parseDeviceTopic(topic)?.device;
      for (const client of live) {
        const principal = principalOf(client);
        if (principal?.kind !== 'device' || principal.deviceId !== device) continue;
        const filters = Object.keys((client as Client & { subscriptions?: Record<string, unknown> }).subscriptions ?? {});
        if (filters.some((filter) => topicMatches(filter, topic))) return true;
      }
      if (device === undefined) return false;
      for (const entry of remote.get(device)?.values() ?? []) {
        if (!alive(entry.broker)) continue;
        for (const filter of entry.filters) if (topicMatches(filter, topic)) return true;
      }
      const stored = await deps.persistence().subscriptionsByTopic(topic);
      return stored.some((s) => s.qos > 0 && clientIdAllowed(device, s.clientId));
    },
    onCommandSubscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
