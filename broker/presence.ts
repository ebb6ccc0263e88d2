import type { Aedes, Client, PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import type { PresenceCause } from '../core/registry.js';
import { topics } from '../core/topics.js';
import { statusTopicDevice } from './acl.js';

/**
 * Device presence on `devices/{id}/status` (DESIGN.md §3): retained `online` while the device has
 * a connection, retained `offline` once it has none.
 *
 * The state is derived, not evented: we keep the set of live connections per device and, after
 * every change, publish whatever that set says *at publish time*. That makes the end state right
 * whatever order Aedes reports things in:
 * - takeover (§3.1.4-2: a CONNECT with a client id in use disconnects the old connection): the old
 *   connection's disconnect may fire before or, if it was already closing, after the new one's
 *   connect; the new connection is in the set either way, so the result is `online`;
 * - a device with two connections (`d1` and `d1-x`) stays `online` until the last one goes;
 * - a device's own LWT `offline` (or a stale one replayed from persistence) is followed by our
 *   `online` if the device is in fact still connected.
 * Publishes go through `aedes.publish`, which bypasses authorizePublish, at QoS 1 retained so a
 * subscriber that arrives later still learns the current state.
 *
 * Listeners are also told *why* a device went offline — the cause of its last connection's end:
 * a clean DISCONNECT, a keep-alive timeout or a lost connection — because that is what separates
 * a battery device ending its report from a device that dropped off (alerts/rules/offline.ts).
 */
export interface Presence {
  /** A device connection was registered. */
  connected(client: Client, deviceId: string): void;
  /**
   * A device connection was unregistered (clean DISCONNECT, drop, takeover, keepalive…), with why
   * it ended; the cause the listeners hear is that of the device's last connection to end.
   */
  disconnected(client: Client, deviceId: string, cause: DisconnectCause): void;
  /**
   * Cluster mode: a device connection closed because the device connected on another node (the
   * takeover of §3.1.4-2 across nodes). Not an `offline`: that node publishes `online`, and an
   * `offline` from here would overwrite it in the shared retained store. Forgotten silently.
   */
  movedAway(client: Client, deviceId: string): void;
  /**
   * Cluster mode: Aedes publishes here, with no client, the stored Will of a device whose node died
   * (its heartbeats stopped). A device status `offline` for a device with no connection here is that
   * device's lost connection: the listeners hear it (cause `lost`), as they would have on its node.
   * Aedes publishes the Will itself; nothing is published here.
   */
  orphanWill(packet: PublishPacket): void;
  /**
   * True when `packet` is the Will of a closing `client` on its device's status topic while that
   * device still has another connection: publishing it would mark a connected device offline.
   */
  suppressWill(client: Client | null, packet: PublishPacket): boolean;
  /** Sees every publish; re-asserts the real state when a status message contradicts it. */
  observe(packet: PublishPacket): void;
  /**
   * Cluster mode: a status message another node published (its copy reaches this node's emitter, not
   * `observe`). Only this node's own connections are re-asserted: an `offline` for a device connected
   * here (a stale Will of the node it left, published by a third node) is answered with `online`; a
   * device not connected here is that node's to speak for.
   */
  observeRemote(packet: Pick<PublishPacket, 'topic' | 'payload'>): void;
  /** Distinct devices with at least one connection. */
  onlineDevices(): number;
  /** Resolves when all queued status publishes have been handed to Aedes. */
  settled(): Promise<void>;
  /** Stop publishing (broker shutting down). */
  stop(): void;
}

export type Status = 'online' | 'offline';
export type DisconnectCause = Exclude<PresenceCause, 'connected'>;

interface DeviceState {
  readonly clients: Set<Client>;
  /** Why the device's most recent connection to end ended. */
  lastCause: DisconnectCause;
  /** A flush is queued and has not read the state yet: further changes need no new flush. */
  queued: boolean;
  chain: Promise<void>;
}

/**
 * Told each state the broker publishes (online/offline), in order per device, with its cause:
 * `connected` for online, else how the last connection ended.
 */
export type PresenceListener = (deviceId: string, status: Status, ts: number, cause: PresenceCause) => void;

export function createPresence(aedes: Pick<Aedes, 'publish'>, logger: Logger, onChange: PresenceListener = () => {}): Presence {
  const devices = new Map<string, DeviceState>();
  let stopped = false;

  const stateOf = (deviceId: string): DeviceState => {
    let state = devices.get(deviceId);
    if (!state) {
      state = { clients: new Set(), lastCause: 'lost', queued: false, chain: Promise.resolve() };
      devices.set(deviceId, state);
    }
    return state;
  };

  const publish = (deviceId: string, status: Status): Promise<void> =>
    new Promise((resolve) => {
      const packet: PublishPacket = { cmd: 'publish', topic: topics.status(deviceId), payload: Buffer.from(status), qos: 1, retain: true, dup: false };
      aedes.publish(packet, (err) => {
        if (err) logger.warn({ err, deviceId, status }, 'status publish failed');
        resolve();
      });
    });

  /** Queue one publish of the device's current state, serialised per device. */
  const flush = (deviceId: string): void => {
    const state = stateOf(deviceId);
    if (state.queued || stopped) return;
    state.queued = true;
    state.chain = state.chain.then(async () => {
      state.queued = false;
      if (stopped) return;
      const status: Status = state.clients.size > 0 ? 'online' : 'offline';
      const cause: PresenceCause = status === 'online' ? 'connected' : state.lastCause;
      await publish(deviceId, status);
      try {
        onChange(deviceId, status, Date.now(), cause);
      } catch (err) {
        logger.error({ err, deviceId }, 'presence listener failed');
      }
      // Forget devices with no connection and nothing queued: the map stays bounded by the
      // number of connected devices.
      if (state.clients.size === 0 && !state.queued && devices.get(deviceId) === state) devices.delete(deviceId);
    });
  };

  return {
    connected(client, deviceId) {
      stateOf(deviceId).clients.add(client);
      flush(deviceId);
    },

    disconnected(client, deviceId, cause) {
      const state = stateOf(deviceId);
      state.clients.delete(client);
      state.lastCause = cause;
      flush(deviceId);
    },

    movedAway(client, deviceId) {
      const state = devices.get(deviceId);
      if (!state) return;
      state.clients.delete(client);
      // Still connected here through another client id (d1 and d1-x): its state is unchanged.
      if (state.clients.size === 0 && !state.queued && devices.get(deviceId) === state) devices.delete(deviceId);
    },

    orphanWill(packet) {
      if (stopped) return;
      const deviceId = statusTopicDevice(packet.topic);
      if (deviceId === undefined || (devices.get(deviceId)?.clients.size ?? 0) > 0) return;
      const said = Buffer.isBuffer(packet.payload) ? packet.payload.toString('utf8') : packet.payload;
      if (said !== 'offline') return;
      try {
        onChange(deviceId, 'offline', Date.now(), 'lost');
      } catch (err) {
        logger.error({ err, deviceId }, 'presence listener failed');
      }
    },

    suppressWill(client, packet) {
      if (client === null || !client.closed) return false; // only a closing client publishes its Will
      const deviceId = statusTopicDevice(packet.topic);
      if (deviceId === undefined) return false;
      const clients = devices.get(deviceId)?.clients;
      if (!clients) return false;
      return clients.size > (clients.has(client) ? 1 : 0);
    },

    observe(packet) {
      // Runs for every message the broker routes: a cheap string test before parsing.
      if (stopped || !packet.topic.endsWith('/status') || !packet.topic.startsWith('devices/')) return;
      const deviceId = statusTopicDevice(packet.topic);
      if (deviceId === undefined) return;
      const online = (devices.get(deviceId)?.clients.size ?? 0) > 0;
      const said = Buffer.isBuffer(packet.payload) ? packet.payload.toString('utf8') : packet.payload;
      if (said !== (online ? 'online' : 'offline')) flush(deviceId);
    },

    observeRemote(packet) {
      if (stopped) return;
      const deviceId = statusTopicDevice(packet.topic);
      if (deviceId === undefined || (devices.get(deviceId)?.clients.size ?? 0) === 0) return;
      const said = Buffer.isBuffer(packet.payload) ? packet.payload.toString('utf8') : String(packet.payload);
      if (said === 'offline') flush(deviceId);
    },

    onlineDevices() {
      let n = 0;
      for (const state of devices.values()) if (state.clients.size > 0) n++;
      return n;
    },

    async settled() {
      await Promise.all([...devices.values()].map((s) => s.chain));
    },

    stop() {
      stopped = true;
    },
  };
}
