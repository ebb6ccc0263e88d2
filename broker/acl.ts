import type { AedesPublishPacket, Client, PublishPacket, Subscription } from 'aedes';
import type { Logger } from 'pino';
import { commandMessageExpired } from '../core/commands.js';
import { devicePublishChannels, filterWithin, parseDeviceTopic, presenceStates, topicMatches } from '../core/topics.js';
import type { ServiceAccount } from './contracts.js';
import type { BrokerMetrics } from './metrics.js';
import { principalName, principalOf } from './principal.js';
import type { Principal } from './principal.js';

/**
 * Topic ACL, deny by default (DESIGN.md §3): a device publishes only on its own channels,
 * `devices/{id}/telemetry`, `devices/{id}/status` and `devices/{id}/replies` (its answers to
 * commands, core/commands.ts), and subscribes only within
 * `devices/{id}/commands/#`; a service account gets exactly its filters, minus its deny filters.
 * `$SYS/` is the broker's own namespace: nobody publishes there, and only a service account
 * whose pattern names `$SYS` explicitly may subscribe.
 *
 * Anything else a device publishes under its own subtree — `devices/{id}/Telemetry`,
 * `…/telemetry/x`, `…/telemetry/`, `…/data`, its own `commands` — is refused like a topic of
 * another device: the connection is closed without a PUBACK (§3.3.5) and the refusal counted in
 * `anju_broker_acl_denied_total{action="publish"}`. Refusing in the broker, rather than
 * acknowledging and dead-lettering in ingest, holds in every role: the `broker` role has no ingest
 * of its own, and a message acknowledged there on a topic no ingest subscribes to would vanish.
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
  if (principal.kind === 'device') return deviceChannelOf(principal.deviceId, topic) !== undefined;
  const { account } = principal;
  return account.publish.some((pattern) => topicMatches(pattern, topic)) && !denied(account, topic);
}

/** The device's own channel `topic` is, or undefined for any other topic. */
export function deviceChannelOf(deviceId: string, topic: string): (typeof devicePublishChannels)[number] | undefined {
  const root = devicePublishRoot(deviceId);
  if (!topic.startsWith(root)) return undefined;
  const channel = topic.slice(root.length);
  return devicePublishChannels.find((c) => c === channel);
}

/** Whether `principal` may subscribe with the topic filter `filter`. */
export function maySubscribe(principal: Principal, filter: string): boolean {
  if (principal.kind === 'device') return within(filter, deviceSubscribeFilter(principal.deviceId));
  const { account } = principal;
  // A filter wholly inside a deny filter is refused; one that only overlaps it is granted, and
  // the denied topics are then withheld at delivery (mayReceive).
  return account.subscribe.some((allowed) => within(filter, allowed)) && !(account.deny ?? []).some((d) => within(filter, d));
}

function denied(account: ServiceAccount, topic: string): boolean {
  return (account.deny ?? []).some((pattern) => topicMatches(pattern, topic));
}

/** MQTT 3.1.1 §4.7: `filterWithin` covers the parent-level rule of `#` and `$` topics. */
function within(filter: string, allowed: string): boolean {
  return filterWithin(filter, allowed);
}

/** On the forwarding hot path (every telemetry message to every subscriber): a substring test before parsing. */
function isCommandTopic(topic: string): boolean {
  return topic.includes('/commands/') && parseDeviceTopic(topic)?.channel === 'commands';
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
  const { account } = principal;
  return account.subscribe.some((pattern) => topicMatches(pattern, topic)) && !denied(account, topic);
}

/**
 * What a device may say beyond the topic ACL. Retained messages (§3.3.1.3: the server must keep
 * one per topic for every future subscriber) are broker memory a device could fill — one device
 * once held 290 MB with 1,200 retained 250 KB messages — so a device may retain only its presence,
 * and its status channel carries only `online` or `offline`: at most one message of 7 bytes per
 * device. Telemetry needs no retention: the API serves the latest reading from memory.
 */
export function devicePublishProblem(deviceId: string, packet: { topic: string; payload: string | Buffer; retain?: boolean }): 'retain' | 'bad_status' | undefined {
  const channel = deviceChannelOf(deviceId, packet.topic);
  if (channel === 'status') {
    const said = Buffer.isBuffer(packet.payload) ? packet.payload.toString('latin1') : packet.payload;
    return (presenceStates as readonly string[]).includes(said) ? undefined : 'bad_status';
  }
  return packet.retain ? 'retain' : undefined;
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
      if (principal && mayPublish(principal, packet.topic)) {
        const problem = principal.kind === 'device' ? devicePublishProblem(principal.deviceId, packet) : undefined;
        if (!problem) return undefined;
        metrics.publishesRefused.inc({ reason: problem });
        logger.warn({ clientId: client.id, username: principalName(principal), topic: packet.topic, reason: problem }, problem === 'retain'
          ? 'retained publish refused (a device may retain only its status), closing connection'
          : 'status publish refused (only online or offline), closing connection');
        return new Error(problem === 'retain' ? 'retained publish not authorized' : 'status must be online or offline');
      }
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
      if (!principal || !mayReceive(principal, packet.topic)) return null;
      // MQTT 3.1.1 has no message expiry (MQTT 5's §3.3.2.3.3): a command queued for an offline
      // persistent session would reach the device hours late. The command says when it expires;
      // past that it is withheld here, the one place every delivery path (live, offline queue) goes through.
      if (isCommandTopic(packet.topic) && commandMessageExpired(packet.payload, Date.now())) {
        metrics.expiredCommandsWithheld.inc();
        logger.info({ clientId: client.id, topic: packet.topic }, 'expired command withheld');
        return null;
      }
      return packet;
    },
  };
}
