import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { CommandSubscribeListener, DeliveryListener, InterceptedPublish } from '../broker/index.js';
import {
  CommandError, commandMessageSchema, commandParamSchemas, commandRefusal, commandReplySchema, encodeCommandMessage, isFinalStatus,
  parseDeviceTopic, topics, TTL_DEFAULT_SECONDS, type Command, type CommandInput, type CommandStatus, type Device,
} from '../core/index.js';
import { createSerialQueue, getOrCreateMetric } from '../core/util/index.js';
import type { CommandStore } from '../storage/commands/contract.js';

/**
 * The command dispatcher: sends a command to a device through the embedded broker and follows it
 * queued → sent → delivered → succeeded | failed | expired.
 *
 * - queued: stored; held while no session of the device listens for commands (Aedes drops a publish
 *   nobody subscribes to), published the moment the device subscribes, expired if it does not in time;
 * - sent: Aedes has the QoS 1 message in the queues of the device's subscriptions, including the
 *   offline queue of a persistent session (clean session = 0, MQTT 3.1.1 §3.1.2.4);
 * - delivered: the device's own connection answered it with PUBACK (§4.3.2) — a service account
 *   that also subscribes to the topic acknowledging it does not count. Aedes can tell only for a
 *   persistent session; for a clean one the reply sets the delivered time;
 * - succeeded / failed: the device said so on `devices/{id}/replies`; the reply is acknowledged
 *   only once recorded, so a store failure makes the device resend it, and a reply for a command
 *   already final changes nothing (the store's rule) — the same id is executed and counted once;
 * - expired: not delivered before `expiresAt`. The broker withholds it from then on (broker/acl.ts),
 *   and the sweep here records it once `replyGraceMs` more have passed with no reply (a clean
 *   session's live delivery leaves no trace but its reply). A delivered command with no reply within
 *   `replyGraceMs` after its expiry is `failed` ("no reply"): the device had it, but nobody can say what it did.
 */

export interface CommandServiceConfig {
  /** How often expired commands are looked for. */
  readonly sweepIntervalMs: number;
  /** How long after its expiry a delivered command may still be answered before it is failed. */
  readonly replyGraceMs: number;
  /**
   * The broker's sessions outlive this process (cluster mode: Redis keeps them, and the QoS 1 messages
   * queued in them). A command `sent` before a restart is then still on its way, and is not held again.
   */
  readonly sessionsSurviveRestart?: boolean;
}

export interface CommandBroker {
  publish(message: { topic: string; payload: string; qos: 1; retain: false }): Promise<void>;
  interceptReplies(handler: (message: InterceptedPublish) => Promise<void>): () => void;
  onDelivered(listener: DeliveryListener): () => void;
  /** Whether a publish on this command topic reaches its device, now or from its persistent session later. */
  reachesDevice(topic: string): Promise<boolean>;
  onCommandSubscribe(listener: CommandSubscribeListener): () => void;
}

export interface CommandServiceDeps {
  readonly store: CommandStore;
  readonly devices: { get(id: string): Device | undefined };
  readonly broker: CommandBroker;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly now?: () => number;
}

/** A change of a command, numbered for the SSE stream (`GET /api/commands/stream`). */
export interface CommandEvent {
  readonly seq: number;
  readonly type: 'command';
  readonly ts: number;
  readonly command: Command;
}

export type CommandListener = (event: CommandEvent) => void;

export interface CommandService {
  /**
   * Validates, stores and publishes a command; answers it as it stands after the publish. Throws CommandError when refused.
   * With `id` (an incident response chooses it before sending, alerts/responses/): a command already stored under it is
   * answered as it stands and not sent again, so a caller that restarted between choosing and sending sends it once.
   */
  send(deviceId: string, input: CommandInput, sentBy: string, opts?: { readonly id?: string }): Promise<Command>;
  get(id: string): Promise<Command | undefined>;
  list: CommandStore['list'];
  /** Told every change of a command's status. */
  subscribe(listener: CommandListener): () => void;
  /**
   * The changes after `seq`, oldest first, from memory: the last `EVENTS_KEPT` only (a stream that
   * was away longer reloads `GET /api/commands`). Seqs restart with the process.
   */
  eventsSince(seq: number, limit?: number): Promise<CommandEvent[]>;
  /** Expires what is due now; the timer calls it, tests may too. Answers how many changed. */
  sweep(): Promise<number>;
  /**
   * Stops listening, then waits for the work under way — a flush of held commands, a publish, a sweep,
   * a delivery being recorded — so none of it meets a closed store (its command left `queued` after
   * the broker took it, and published again after the restart).
   */
  stop(): Promise<void>;
}

const notFinal: readonly CommandStatus[] = ['queued', 'sent', 'delivered'];
/** Command changes kept for a stream that resumes: commands are a few per incident, so this is hours. */
export const EVENTS_KEPT = 1_000;
/** Held commands published when a device subscribes: an operator sends a handful to one device, not hundreds. */
const HELD_FLUSHED = 100;
/** Commands in the broker's memory at a restart: a fleet-wide action, at most. */
const HELD_RECOVERED = 10_000;
type ReplyResult = 'recorded' | 'duplicate' | 'unknown' | 'invalid';

export function createCommandService(config: CommandServiceConfig, deps: CommandServiceDeps): CommandService {
  const { store, devices, broker, metrics } = deps;
  const logger = deps.logger.child({ part: 'commands' });
  const now = deps.now ?? Date.now;
  const listeners = new Set<CommandListener>();
  const counter = (name: string, help: string, labelNames: string[]) =>
    getOrCreateMetric(metrics, name, () => new Counter({ name, help, labelNames, registers: [metrics] }), labelNames);
  const transitions = counter('anju_commands_total', 'Command status changes, by command name and the status reached.', ['name', 'status']);
  const replies = counter(
    'anju_command_replies_total',
    'Device replies: recorded, duplicate (command already final: ignored), unknown (no such command for this device), invalid (not a reply).',
    ['result'],
  );
  for (const result of ['recorded', 'duplicate', 'unknown', 'invalid'] satisfies ReplyResult[]) replies.inc({ result }, 0);

  const events: CommandEvent[] = [];
  let seq = 0;
  const announce = (c: Command | undefined): Command | undefined => {
    if (!c) return c;
    transitions.inc({ name: c.name, status: c.status });
    const event: CommandEvent = { seq: ++seq, type: 'command', ts: now(), command: c };
    events.push(event);
    if (events.length > EVENTS_KEPT) events.shift();
    for (const l of listeners) {
      try {
        l(event);
      } catch (err) {
        logger.error({ err }, 'command listener failed');
      }
    }
    return c;
  };

  const onReply = async (m: InterceptedPublish): Promise<void> => {
    const device = parseDeviceTopic(m.topic)?.device ?? m.topic.split('/')[1] ?? '';
    const count = (result: ReplyResult, detail: Record<string, unknown> = {}) => {
      replies.inc({ result });
      if (result !== 'recorded') logger.warn({ device, ...detail, result }, 'command reply not applied');
    };
    let parsed;
    try {
      parsed = commandReplySchema.safeParse(JSON.parse(m.payload.toString('utf8')));
    } catch {
      parsed = undefined;
    }
    // Acknowledged and counted, not refused: a refusal closes the connection and the device would
    // resend the same unreadable reply forever.
    if (!parsed?.success) return count('invalid', { bytes: m.payload.length });
    const reply = parsed.data;
    const command = await store.get(reply.id);
    if (!command || command.device !== device) return count('unknown', { command: reply.id });
    if (isFinalStatus(command.status)) return count('duplicate', { command: reply.id, status: command.status });
    const message = reply.message ?? reply.detail;
    const changed = await store.transition(reply.id, notFinal, {
      status: reply.outcome, at: now(),
      ...(message !== undefined ? { message } : {}), ...(reply.state !== undefined ? { state: reply.state } : {}),
    });
    if (!changed) return count('duplicate', { command: reply.id });
    replies.inc({ result: 'recorded' });
    logger.info({ device, command: reply.id, name: changed.name, outcome: reply.outcome }, 'command answered');
    announce(changed);
  };

  /** Deliveries being recorded: `stop` waits for them. */
  const deliveries = new Set<Promise<unknown>>();
  const onDelivered: DeliveryListener = ({ topic, payload, deviceId }) => {
    const parsedTopic = parseDeviceTopic(topic);
    if (parsedTopic?.channel !== 'commands' || deviceId !== parsedTopic.device) return;
    let id: string;
    try {
      const message = commandMessageSchema.safeParse(JSON.parse(payload.toString('utf8')));
      if (!message.success) return;
      id = message.data.id;
    } catch {
      return;
    }
    // Not awaited by Aedes (an event); a failure is logged and the status stays at sent until the reply.
    const recording = store.transition(id, ['queued', 'sent'], { status: 'delivered', at: now() })
      .then(announce)
      .catch((err: unknown) => logger.error({ err, command: id }, 'could not record a command delivery'))
      .finally(() => deliveries.delete(recording));
    deliveries.add(recording);
  };

  /**
   * Publishes a queued command and records it sent, or failed when the broker cannot take it.
   * Only inside `publishing`: a send deciding whether its device listens and a subscribe flushing
   * what was held for it take turns, so a command is published once, and never missed between them.
   */
  const publish = async (command: Command): Promise<void> => {
    // The claim, a compare-and-set on the stored status, before the publish: of those holding this
    // command — a flush that ran first here, or in cluster mode another node's dispatcher flushing
    // it as its device subscribed there — exactly one publishes it. Announced now, so its `sent`
    // comes before the PUBACK's `delivered`. A crash between claim and publish leaves it `sent`
    // unpublished: set back to `queued` at the next start where sessions do not survive a restart,
    // otherwise expired, visibly — never published twice.
    const claimed = await store.transition(command.id, ['queued'], { status: 'sent', at: now() });
    if (!claimed) return;
    announce(claimed);
    try {
      await broker.publish({ topic: topics.command(command.device, command.name), payload: encodeCommandMessage(command), qos: 1, retain: false });
    } catch (err) {
      logger.error({ err, command: command.id }, 'command could not be published');
      announce(await store.transition(command.id, ['sent'], { status: 'failed', at: now(), message: 'the broker could not take it (stopping?)' }));
      return;
    }
    logger.info({ device: command.device, command: command.id, name: command.name, sentBy: command.sentBy }, 'command sent');
  };
  const publishing = createSerialQueue();
  const held = getOrCreateMetric(metrics, 'anju_commands_held_total', () => new Counter({
    name: 'anju_commands_held_total',
    help: 'Commands held because no session of their device listened for commands; published when it subscribes, expired if it does not in time.',
    registers: [metrics],
  }));
  /** Devices with commands held for them: a fleet subscribing at start-up costs no query per device. */
  const holding = new Set<string>();
  const onSubscribe: CommandSubscribeListener = ({ deviceId }) => {
    if (!holding.has(deviceId)) return;
    publishing.run(async () => {
      holding.delete(deviceId);
      const waiting = await store.list({ device: deviceId, status: 'queued' }, { limit: HELD_FLUSHED, offset: 0 });
      if (waiting.total > waiting.items.length) holding.add(deviceId);
      // Oldest first, as they were sent; an expired one is left to the sweep. A filter that covers
      // some commands only (`…/commands/close`) leaves the others held.
      for (const c of [...waiting.items].reverse()) {
        if (c.expiresAt <= now()) continue;
        if (await broker.reachesDevice(topics.command(c.device, c.name))) await publish(c);
        else holding.add(deviceId);
      }
    }).catch((err: unknown) => logger.error({ err, device: deviceId }, 'could not publish the commands held for a device'));
  };

  // The embedded broker keeps sessions in memory: a command `sent` before a restart (queued in a
  // session, or in flight) went with them. Back to queued, so it is held and published again when its
  // device subscribes; first in `publishing`, so no flush runs before it. A device that had it already
  // gets the same id again and acts once (README, "Acting on devices").
  // Commands still held (`queued`: their device did not listen) are held again too: who waits for
  // them is memory only, and without it a sleeping meter's command expired after every restart
  // although the meter woke and subscribed in time.
  publishing.run(async () => {
    if (!config.sessionsSurviveRestart) {
      const stranded = await store.list({ status: 'sent' }, { limit: HELD_RECOVERED, offset: 0 });
      // Queued again, they are held with the rest just below.
      for (const c of stranded.items) announce(await store.transition(c.id, ['sent'], { status: 'queued', at: now() }));
      if (stranded.total > 0) logger.warn({ commands: stranded.total }, 'commands sent before a restart are held again for their devices');
    }
    const waiting = await store.list({ status: 'queued' }, { limit: HELD_RECOVERED, offset: 0 });
    const t = now();
    for (const c of waiting.items) if (c.expiresAt > t) holding.add(c.device);
  }).catch((err: unknown) => logger.error({ err }, 'could not hold again the commands sent before a restart'));

  const removeReplies = broker.interceptReplies(onReply);
  const removeDelivered = broker.onDelivered(onDelivered);
  const removeSubscribe = broker.onCommandSubscribe(onSubscribe);

  let sweeping: Promise<number> | undefined;
  const sweepOnce = async (): Promise<number> => {
    const t = now();
    let changed = 0;
    // Both wait out the reply grace. A device on a clean session leaves no PUBACK trace, so its
    // command stays `sent` while it acts (a valve takes up to 20 s); one received just before
    // its expiry would otherwise be expired under it and its true answer ignored as a duplicate.
    // A persistent session's offline copy is withheld by the broker from `expiresAt` on either way.
    for (const c of await store.due(t - config.replyGraceMs, ['queued', 'sent'], 500)) {
      const message = 'no delivery acknowledged and no reply before it expired';
      if (announce(await store.transition(c.id, ['queued', 'sent'], { status: 'expired', at: t, message }))) changed++;
    }
    for (const c of await store.due(t - config.replyGraceMs, ['delivered'], 500)) {
      const message = 'delivered, but the device did not reply before it expired';
      if (announce(await store.transition(c.id, ['delivered'], { status: 'failed', at: t, message }))) changed++;
    }
    return changed;
  };
  const sweep = () => (sweeping ??= sweepOnce().finally(() => { sweeping = undefined; }));
  const timer = setInterval(() => {
    sweep().catch((err: unknown) => logger.error({ err }, 'command expiry sweep failed'));
  }, config.sweepIntervalMs);
  timer.unref();

  return {
    async send(deviceId, input, sentBy, opts) {
      if (opts?.id !== undefined) {
        const known = await store.get(opts.id);
        if (known) return known;
      }
      const device = devices.get(deviceId);
      if (!device) throw new CommandError('device_not_found', 'not_found', `device ${deviceId} is not registered`);
      const refusal = commandRefusal(device, input.name);
      if (refusal) throw new CommandError('command_not_supported', 'conflict', refusal);
      const params = commandParamSchemas[input.name].safeParse(input.params ?? {});
      if (!params.success) {
        const details = params.error.issues.map((i) => ({ in: 'body', path: ['params', ...i.path.map(String)].join('.'), message: i.message }));
        throw new CommandError('invalid_command_params', 'invalid', `params for "${input.name}": ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, { details });
      }
      const createdAt = now();
      const command: Command = {
        id: opts?.id ?? randomUUID(), device: deviceId, name: input.name, status: 'queued', sentBy, createdAt,
        expiresAt: createdAt + (input.ttlSeconds ?? TTL_DEFAULT_SECONDS) * 1000,
        ...(Object.keys(params.data).length > 0 ? { params: params.data } : {}),
      };
      await store.create(command);
      announce(command);
      // Marked before the broker is asked: a subscribe landing while it answers then queues a flush
      // behind this job, which finds the command still queued if this one held it.
      holding.add(deviceId);
      await publishing.run(async () => {
        if (await broker.reachesDevice(topics.command(deviceId, input.name))) return publish(command);
        held.inc();
        logger.info({ device: deviceId, command: command.id, name: input.name, sentBy }, 'command held until the device subscribes to its commands');
      });
      return (await store.get(command.id)) ?? command;
    },
    get: (id) => store.get(id),
    list: (filter, page) => store.list(filter, page),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    eventsSince: async (after, limit = EVENTS_KEPT) => events.filter((e) => e.seq > after).slice(0, limit),
    sweep,
    async stop() {
      clearInterval(timer);
      removeReplies();
      removeDelivered();
      removeSubscribe();
      listeners.clear();
      await Promise.allSettled([publishing.idle(), sweeping, ...deliveries]);
    },
  };
}
