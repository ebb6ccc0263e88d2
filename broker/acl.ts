import type { AedesPublishPacket, Client, PublishPacket, Subscription } from 'aedes';
import type { Logger } from 'pino';
import { filterWithin, parseDeviceTopic, topicMatches } from '../core/topics.js';
import type { BrokerMetrics } from './metrics.js';
import { principalName, principalOf } from './principal.js';
import type { Principal } from './principal.js';

/**
 * Topic ACL, deny by default (DESIGN.md §3): a device publishes only under `devices/{id}/` and
 * subscribes only within `devices/{id}/commands/#`; a service account gets exactly its patterns.
 * `$SYS/` is the broker's own namespace: nobody publishes there, and only a service account
 * whose pattern names `$SYS` explicitly may subscribe.
 */

const SYS_PREFIX = '$SYS/';

/** The subtree a device may publish in. */
export function devicePublishRoot(deviceId: string): string {
  return `devices/${deviceId}/`;
}

/** The filter a device may subscribe within. */
export function deviceSubscribeFilter(deviceId: string): string {
  return `devices/${deviceId}/commands/#`;
}

/** Whether `principal` may publish to the concrete topic name `topic`. */
export function mayPublish(principal: Principal, topic: string): boolean {
  if (topic.startsWith(SYS_PREFIX) || topic === '$SYS') return false;
  if (principal.kind === 'device') {
    const root = devicePublishRoot(principal.deviceId);
    // Strictly below the root: `devices/{id}` itself is not "under" it.
    return topic.length > root.length && topic.startsWith(root);
  }
  return principal.account.publish.some((pattern) => topicMatches(pattern, topic));
}

/** Whether `principal` may subscribe with the topic filter `filter`. */
export function maySubscribe(principal: Principal, filter: string): boolean {
  if (principal.kind === 'device') return within(filter, deviceSubscribeFilter(principal.deviceId));
  return principal.account.subscribe.some((allowed) => within(filter, allowed));
}

/** MQTT 3.1.1 §4.7: `filterWithin` covers the parent-level rule of `#` and `$` topics. */
function within(filter: string, allowed: string): boolean {
  return filterWithin(filter, allowed);
}

/** A status topic (`devices/{id}/status`) → the device id, else undefined. */
export function statusTopicDevice(topic: string): string | undefined {
  const parsed = parseDeviceTopic(topic);
  return parsed?.channel === 'status' ? parsed.device : undefined;
}

/**
 * Whether a message on `topic` may be delivered to `principal`. Subscriptions were already
 * checked; this is defence in depth for what reaches a client by other ways: the offline queue
 * of a persistent session (§3.1.2.4) left under a client id that another principal could reuse,
 * and retained messages.
 */
export function mayReceive(principal: Principal, topic: string): boolean {
  if (principal.kind === 'device') return topicMatches(deviceSubscribeFilter(principal.deviceId), topic);
  return principal.account.subscribe.some((pattern) => topicMatches(pattern, topic));
}

export interface AclHooks {
  /** Undefined when allowed, else the error to hand Aedes (which then closes the connection). */
  checkPublish(client: Client | null, packet: PublishPacket): Error | undefined;
  authorizeSubscribe(client: Client, sub: Subscription, done: (err: Error | null, sub?: Subscription | null) => void): void;
  authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null;
}

export function createAcl(deps: { metrics: BrokerMetrics; logger: Logger }): AclHooks {
  const { metrics, logger } = deps;
  return {
    checkPublish(client, packet) {
      if (client === null) {
        // Aedes publishes the persisted Will of a client that is gone (e.g. from a dead broker
        // sharing persistence) with no client. The only Will we admit is a device's status LWT,
        // and the ACL checked that topic against its owner when the Will was accepted at CONNECT.
        if (statusTopicDevice(packet.topic) !== undefined) return undefined;
        logger.warn({ topic: packet.topic }, 'orphan will refused');
        return new Error('orphan will not authorized');
      }
      const principal = principalOf(client);
      if (principal && mayPublish(principal, packet.topic)) return undefined;
      metrics.aclDenied.inc({ action: 'publish' });
      logger.warn({ clientId: client.id, username: principal && principalName(principal), topic: packet.topic }, 'publish denied, closing connection');
      // MQTT 3.1.1 has no negative PUBACK: §3.3.5 lets the server close the connection instead,
      // which is what Aedes does when this callback errors.
      return new Error('publish not authorized');
    },

    authorizeSubscribe(client, sub, done) {
      const principal = principalOf(client);
      if (principal && maySubscribe(principal, sub.topic)) {
        done(null, sub);
        return;
      }
      metrics.aclDenied.inc({ action: 'subscribe' });
      logger.warn({ clientId: client.id, username: principal && principalName(principal), topic: sub.topic }, 'subscribe denied');
      // A null subscription makes Aedes answer SUBACK 0x80 (§3.9.3 Failure) for this filter and
      // keep the connection: the other filters of the same SUBSCRIBE are still granted.
      done(null, null);
    },

    authorizeForward(client, packet) {
      const principal = principalOf(client);
      return principal && mayReceive(principal, packet.topic) ? packet : null;
    },
  };
}
