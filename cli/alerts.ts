import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createEscalation, defaultEscalationConfig } from '../alerts/escalation.js';
import { createDutyRouter, personNotifierFactories, type DutyRouter, type PersonNotifier } from '../alerts/duty/index.js';
import { createIncidents, defaultIncidentsConfig, type Incidents } from '../alerts/incidents/manager.js';
import type { ResponsePolicies } from '../alerts/responses/index.js';
import { createAlertEngine, defaultAlertEngineConfig, type AlertEngine } from '../alerts/index.js';
import {
  createNotifications, notifierFactories, type AlertPublish, type Notifier, type PlaceNames, type ReminderEvent,
} from '../alerts/notifiers/index.js';
import type { AnjuBroker } from '../broker/index.js';
import type { AnjuConfig } from '../core/config.js';
import type { AccountStore, AlarmStore, DeviceDirectory, IncidentStore, RosterStore, StateStore } from '../storage/index.js';
import { alarmEventsChannel, createNotificationListener, incidentEventsChannel } from '../storage/postgres/listen.js';
import type { IncidentEvent } from '../storage/incidents/contract.js';
import { createActiveAlarmView, type ActiveAlarmView } from '../alerts/active-view.js';
import { createLogFeed, type EventFeed } from '../alerts/event-feed.js';
import type { AlarmEvent } from '../alerts/contracts.js';
import type { DeviceHolders } from '../storage/postgres/holders.js';
import type { Leader } from '../storage/postgres/leader.js';
import { startExternalPresence } from './external-presence.js';

export interface RunningAlerts {
  readonly engine: AlertEngine;
  readonly incidents: Incidents;
  /** Cluster: every node's alarm and incident events, in seq order, for the event streams (alerts/event-feed.ts). */
  readonly feeds?: { readonly alarms: EventFeed<AlarmEvent>; readonly incidents: EventFeed<IncidentEvent> };
  /** Cluster: every node's active alarms as stored, with the seq they include (alerts/active-view.ts). */
  readonly activeAlarms?: Pick<ActiveAlarmView, 'asOf' | 'subscribe'>;
  /** Routing and escalation to people on duty; present when the hub has rosters and accounts. */
  readonly duty?: DutyRouter;
  stop(): Promise<void>;
}

/**
 * Cluster: the leader takes over devices no live node holds once it has led this many ticks (after a
 * restart of the cluster the devices reconnect first), at most `ADOPT_BATCH` a tick (each is two reads).
 */
const ADOPT_AFTER_TICKS = 10;
const ADOPT_BATCH = 1_000;
const ADOPT_CONCURRENCY = 20;
const ADOPT_TIMEOUT_MS = 60_000;
/**
 * Cluster: the broker id every node gives an alarm event it publishes on MQTT (with the event's seq as
 * the counter), so that each node's copy is the same message to Aedes (broker.publishLocal).
 */
const ALERT_EVENTS_BROKER_ID = 'anju-alert-events';
/** Cluster: how often the other nodes' incident changes are read without a notification. */
const FOLLOW_EVERY_MS = 5_000;

/**
 * The alerts part of a hub: the rule engine fed by ingest (as a reading consumer) and by broker
 * presence — the embedded broker's, with the disconnect cause, or, with an external broker, the
 * devices' status topic — its clock tick, the incidents correlating its alarms, the notifiers
 * (MQTT `anju/alerts/{site}/incident/{hazard}` on the embedded broker, webhooks from
 * ANJU_ALERT_WEBHOOKS: one message per incident change) and the escalation schedule of incidents.
 */
export async function startAlerts(
  config: AnjuConfig,
  deps: {
    store: AlarmStore; incidents: IncidentStore; directory: DeviceDirectory; state?: StateStore; broker?: AnjuBroker; metrics: Registry; logger: Logger;
    /** The engine's, the incidents' and escalation's time (epoch ms); `Date.now` unless a test or benchmark sets it. */
    clock?: () => number;
    /** Sites' rosters and people's accounts: with both, incidents are routed to the people on duty (alerts/duty). */
    rosters?: RosterStore;
    accounts?: AccountStore;
    /** What each site's response policy proposes when an alarm raises or joins an incident (alerts/responses/). */
    policies?: Pick<ResponsePolicies, 'propose'>;
    /** Cluster: escalation, reminders and the duty router's checks run on the leading node only. */
    leader?: Pick<Leader, 'isLeader' | 'onChange'>;
    /** Cluster: which node holds which device; the leader times the devices no live node holds. */
    holders?: Pick<DeviceHolders, 'hold' | 'letGo' | 'track' | 'claimUnheld' | 'heldElsewhere' | 'liveNodeIds'>;
  },
): Promise<RunningAlerts> {
  const logger = deps.logger.child({ part: 'alerts' });
  const clock = deps.clock ?? Date.now;
  // Cluster mode (a broker sharing its sessions through Redis): this node times the devices it holds —
  // connected here, or last connected here — and hands a device over when it connects on another node.
  const held = deps.broker && config.redis ? new Set<string>() : undefined;
  const engine = createAlertEngine(defaultAlertEngineConfig, {
    store: deps.store, devices: deps.directory, logger, metrics: deps.metrics, clock, ...(held ? { ticks: (id: string) => held.has(id) } : {}),
  });
  await engine.start();
  const policies = deps.policies;
  const incidents = createIncidents(defaultIncidentsConfig, {
    engine, store: deps.incidents, logger, metrics: deps.metrics, clock, ...(policies ? { propose: (i, a) => policies.propose(i.site, a) } : {}),
    fireSignal: (id) => {
      const p = engine.ruleParams('fire_risk', id);
      return p ? { enabled: p.enabled !== false, windowS: Number(p.windowS) } : undefined;
    },
  });
  await incidents.start();
  // Cluster (state in PostgreSQL): the other nodes' incident changes are taken in as they commit —
  // notified, and read every few seconds in case a notification was lost — so this node decides on
  // incidents as they stand (its writes are compare-and-set anyway) and, leading, escalates them all.
  // The event streams (SSE) read the shared logs, so each shows every node's events once, in seq order.
  const feeds = config.postgres ? {
    alarms: createLogFeed<AlarmEvent>({ pollMs: FOLLOW_EVERY_MS, what: 'alarm events' }, {
      eventsSince: (seq, limit) => engine.eventsSince(seq, limit), lastSeq: () => deps.store.lastSeq(), logger,
    }),
    incidents: createLogFeed<IncidentEvent>({ pollMs: FOLLOW_EVERY_MS, what: 'incident events' }, {
      eventsSince: (seq, limit) => incidents.eventsSince(seq, limit), lastSeq: () => deps.incidents.lastSeq(), logger,
    }),
  } : undefined;
  await feeds?.alarms.start();
  await feeds?.incidents.start();
  // Cluster: every node's active alarms as stored, for the control room's overview.
  const activeView = feeds ? createActiveAlarmView({ feed: feeds.alarms, store: deps.store }) : undefined;
  await activeView?.start();
  const offFeeds = feeds ? [engine.subscribe(() => feeds.alarms.poke()), incidents.subscribe(() => feeds.incidents.poke())] : [];
  const follower = config.postgres ? createNotificationListener({ url: config.postgres.url }, {
    logger, channels: [incidentEventsChannel, alarmEventsChannel],
    onNotify: (channel) => {
      if (channel === alarmEventsChannel) return feeds?.alarms.poke();
      feeds?.incidents.poke();
      void incidents.follow();
    },
    onResync: async () => {
      feeds?.alarms.poke();
      feeds?.incidents.poke();
      await incidents.follow();
    },
  }) : undefined;
  await follower?.start();
  const followTimer = follower ? setInterval(() => void incidents.follow(), FOLLOW_EVERY_MS) : undefined;
  followTimer?.unref();
  const leads = deps.leader ? () => deps.leader!.isLeader() : undefined;

  const notifiers: Notifier[] = [];
  /** Cluster: notifiers fed from the shared incident log (every node's events) rather than this node's decisions. */
  const logNotifiers: Notifier[] = [];
  const broker = deps.broker;
  if (broker) {
    const viaBroker: AlertPublish = (packet, done) => void broker.publish(packet).then(() => done(null), done);
    if (feeds) {
      // Cluster: every node publishes every node's stored events to its own subscribers, in seq order from
      // the shared log — not once through Redis, whose pub/sub drops what is published while another node
      // reconnects (a fire raised during a Redis restart never reached the fire panel on another node).
      // Every node's copy is one message, queued once for persistent sessions (broker.publishLocal). A
      // reminder is not stored: the leader sends it through Redis.
      const publish: AlertPublish = (packet, done, e) => {
        if (e.type === 'reminder') return viaBroker(packet, done, e);
        broker.publishLocal(packet, { brokerId: ALERT_EVENTS_BROKER_ID, counter: e.seq }).then(() => done(null), done);
      };
      logNotifiers.push(notifierFactories.mqtt({}, { publish, logger, metrics: deps.metrics }));
    } else {
      notifiers.push(notifierFactories.mqtt({}, { publish: viaBroker, logger, metrics: deps.metrics }));
    }
  }
  const places = deps.state ? createPlaceNames(deps.state, logger) : undefined;
  if (config.alerts.webhooks.length > 0) {
    const device = (id: string) => {
      const d = deps.directory.get(id);
      return d ? { name: d.name, ...(d.location ? { location: d.location } : {}) } : undefined;
    };
    notifiers.push(notifierFactories.webhook({ targets: config.alerts.webhooks }, { logger, metrics: deps.metrics, names: { device, ...places?.names } }));
  }
  const local = createNotifications({ notifiers }, { incidents, logger });
  const fromLog = feeds && logNotifiers.length > 0 ? createNotifications({ notifiers: logNotifiers }, { incidents: feeds.incidents, logger }) : undefined;
  const notifications = {
    remind: (e: ReminderEvent) => { local.remind(e); fromLog?.remind(e); },
    close: () => Promise.all([local.close(), fromLog?.close()]),
  };
  const duty = deps.rosters && deps.accounts ? createDutyRouter(
    { criticalAfterMs: config.alerts.escalateCriticalAfterMs, majorAfterMs: config.alerts.escalateMajorAfterMs },
    {
      incidents, rosters: deps.rosters, accounts: deps.accounts, notifiers: personNotifiers(config, places?.names), clock, logger,
      metrics: deps.metrics, ...(places ? { names: places.names } : {}), ...(leads ? { leads } : {}),
    },
  ) : undefined;
  await duty?.start();
  const escalation = createEscalation(
    { ...defaultEscalationConfig, criticalAfterMs: config.alerts.escalateCriticalAfterMs, majorAfterMs: config.alerts.escalateMajorAfterMs },
    {
      incidents, clock, logger, remind: (e) => notifications.remind(e), ...(duty ? { escalatedElsewhere: (i) => duty.owns(i) } : {}),
      ...(leads ? { leads } : {}),
    },
  );
  escalation.start();
  // A node that starts leading (the last leader stopped or died) checks at once what waited meanwhile.
  let leadingSince = deps.leader?.isLeader() ? Date.now() : undefined;
  const offLeader = deps.leader?.onChange((leading) => {
    leadingSince = leading ? Date.now() : undefined;
    if (!leading) return;
    void incidents.follow().then(() => Promise.all([escalation.runOnce(), duty?.runOnce()]))
      .catch((err: Error) => logger.error({ err }, 'escalation check on taking the lead failed'));
  });

  // Cluster: a device no live node holds — it never connected since the cluster started, or its node
  // died while it was disconnected (a periodic device sends no Will) — is timed by nobody. The leader
  // takes it over: its rule state and alarms are read, and its silence is timed here like any other.
  // If it then connects to another node, that node takes it from here as from any node.
  const holders = held ? deps.holders : undefined;
  /** Devices this node times because no live node held them, not because they connected here. */
  const adopted = new Set<string>();
  /**
   * Adopted, their take-over not started yet (adoption takes them a few at a time). Whoever comes
   * first starts it: the adoption's batch, or the device connecting here — whose presence then waits
   * for it. A batch that took a device over after its connection here had been evaluated threw that
   * evaluation away (the rule state read over it) and brought back alarms memory had cleared.
   */
  const notTakenOver = new Set<string>();
  let adoptionHeldBack = false;
  // Written again every beat: those held because they connected here (an adopted one yields to them).
  if (held) holders?.track(() => [...held].filter((id) => !adopted.has(id)));
  /** Bumped when a run is given up: a run of an older generation stops at its next step. */
  let generation = 0;
  async function adoptUnheld(): Promise<void> {
    const gen = generation;
    if (!held || !holders) return;
    // Those another node holds by now (they connected there, or that node is back) are that node's: as
    // on a device connecting elsewhere, what this node raised for it (offline) clears, then it goes.
    for (const id of await holders.heldElsewhere([...adopted])) {
      if (gen !== generation) return;
      if (!adopted.delete(id) || !held.delete(id)) continue;
      notTakenOver.delete(id);
      await engine.onPresence(id, 'online', clock(), 'connected').then(() => engine.release(id))
        .catch((err: Error) => logger.error({ err, device: id }, 'could not hand a device over to the node that holds it now'));
    }
    if (leadingSince === undefined || !deps.leader?.isLeader()) return;
    if (Date.now() - leadingSince < ADOPT_AFTER_TICKS * config.alerts.tickMs) return;
    // Every node the brokers hear must be writing what it holds: a node that does not (a version from
    // before this, in a rolling upgrade) would have its live devices claimed and taken for silent.
    // (A node's holders row is under its broker's id: hub.ts.)
    const writing = new Set(await holders.liveNodeIds());
    const silent = (deps.broker?.liveNodeIds() ?? []).filter((id) => !writing.has(id));
    if (silent.length > 0) {
      if (!adoptionHeldBack) logger.warn({ nodes: silent }, 'not timing unheld devices: a node the brokers hear does not say which devices it holds (an older version?)');
      adoptionHeldBack = true;
      return;
    }
    adoptionHeldBack = false;
    const claimed = (await holders.claimUnheld(ADOPT_BATCH)).filter((id) => !held.has(id) && deps.directory.get(id) !== undefined);
    for (const id of claimed) {
      held.add(id);
      adopted.add(id);
      notTakenOver.add(id);
    }
    // A few at a time: each is two reads, and the alarm writes share the pool.
    for (let i = 0; i < claimed.length; i += ADOPT_CONCURRENCY) {
      if (gen !== generation) return;
      await Promise.all(claimed.slice(i, i + ADOPT_CONCURRENCY).filter((id) => notTakenOver.delete(id)).map((id) => engine.takeOver(id)
        .catch((err: Error) => logger.error({ err, device: id }, 'could not read the rule state of a device no node held'))));
    }
    if (claimed.length > 0) logger.info({ devices: claimed.length }, 'leader times devices no live node holds');
  }
  const tick = setInterval(() => {
    const now = clock();
    engine.tick(now).then(() => incidents.tick(now)).catch((err: Error) => logger.error({ err }, 'alert tick failed'));
  }, config.alerts.tickMs);
  // On its own timer: PostgreSQL away or slow must not hold up the rules' own timing. A run that
  // hangs is given up after a minute (the next one starts over).
  let adopting: Promise<void> | undefined;
  const adoption = holders ? setInterval(() => {
    if (adopting) return;
    let timer: NodeJS.Timeout | undefined;
    const run = adoptUnheld().catch((err: Error) => logger.warn({ err }, 'could not look for devices no node holds; trying again at the next tick'));
    adopting = Promise.race([run, new Promise<void>((r) => { timer = setTimeout(() => { generation += 1; r(); }, ADOPT_TIMEOUT_MS); })]).finally(() => {
      clearTimeout(timer);
      adopting = undefined;
    });
  }, config.alerts.tickMs) : undefined;
  const offPresence = deps.broker?.onPresence((id, status, ts, cause) => {
    // Cluster: a device this node did not hold (it came from another node, or that node died and its
    // Will is published here) — its rule state and alarms are read first; its presence waits for them.
    // Connected here: held because of its connection (authoritative), no longer only adopted.
    if (held && adopted.delete(id)) deps.holders?.hold(id);
    if (held && (notTakenOver.delete(id) || !held.has(id))) {
      held.add(id);
      deps.holders?.hold(id);
      engine.takeOver(id).catch((err: Error) => logger.error({ err, device: id }, 'could not read the rule state of a device taken over; its readings are evaluated on what this node holds'));
    }
    engine.onPresence(id, status, ts, cause).catch((err: Error) => logger.error({ err, device: id }, 'presence evaluation failed'));
  });
  // Connected on another node: alive (what this node raised for it, e.g. a lost connection, clears as on
  // a reconnection here), no longer timed here, and its rule state written for the node that has it now.
  const offElsewhere = held ? deps.broker?.onDeviceElsewhere((id, ts) => {
    if (!held.delete(id)) return;
    adopted.delete(id);
    notTakenOver.delete(id);
    deps.holders?.letGo(id);
    engine.onPresence(id, 'online', ts, 'connected').then(() => engine.release(id))
      .catch((err: Error) => logger.error({ err, device: id }, 'handing a device over to another node failed'));
  }) : undefined;
  // Without the embedded broker the devices' Wills on `devices/{id}/status` are what tells a lost connection.
  const stopExternal = !deps.broker && config.ingest.brokerUrl
    ? await startExternalPresence(
      { url: config.ingest.brokerUrl, username: config.ingest.username, password: config.ingest.password, clientId: `${config.ingest.clientId}-presence` },
      { onPresence: (id, status, ts, cause) => engine.onPresence(id, status, ts, cause), logger },
    )
    : undefined;

  return {
    engine,
    incidents,
    ...(feeds ? { feeds } : {}),
    ...(activeView ? { activeAlarms: activeView } : {}),
    ...(duty ? { duty } : {}),
    async stop() {
      offLeader?.();
      if (followTimer) clearInterval(followTimer);
      await follower?.stop();
      for (const off of offFeeds) off();
      activeView?.stop();
      feeds?.alarms.stop();
      feeds?.incidents.stop();
      offPresence?.();
      offElsewhere?.();
      await stopExternal?.();
      clearInterval(tick);
      if (adoption) clearInterval(adoption);
      await escalation.stop();
      await duty?.stop();
      await engine.close();
      // After the engine: its last events reach the incidents (or, stored, the next start's replay).
      await incidents.close();
      await notifications.close();
      places?.stop();
    },
  };
}

/** Who pages a person: @mentions through the WeCom / DingTalk robots of ANJU_ALERT_WEBHOOKS, and the SMS gateway when there is one. */
function personNotifiers(config: AnjuConfig, names: PlaceNames | undefined): PersonNotifier[] {
  const deps = names ? { names } : {};
  const out = [personNotifierFactories.robots({ targets: config.alerts.webhooks }, deps)];
  if (config.duty.sms) out.push(personNotifierFactories.sms(config.duty.sms, deps));
  return out;
}

/**
 * Site and building names for the pages (a WeCom message says 3号楼, not b3), read from the
 * registry now and every minute after: the notifiers' texts are made synchronously, and the
 * registry's sites and buildings change rarely. Until the first read, ids stand in.
 */
function createPlaceNames(state: StateStore, logger: Logger): { names: { site(id: string): string | undefined;
  building(site: string, id: string): string | undefined }; stop(): void } {
  let sites = new Map<string, string>();
  let buildings = new Map<string, string>();
  const load = async () => {
    const s = new Map<string, string>();
    const b = new Map<string, string>();
    for (let offset = 0; ; offset += 500) {
      const page = await state.listSites({ limit: 500, offset });
      for (const site of page.items) {
        s.set(site.id, site.name);
        for (let bo = 0; ; bo += 500) {
          const bp = await state.listBuildings(site.id, { limit: 500, offset: bo });
          for (const x of bp.items) b.set(`${site.id}/${x.id}`, x.name);
          if (bp.items.length < 500) break;
        }
      }
      if (page.items.length < 500) break;
    }
    sites = s;
    buildings = b;
  };
  const refresh = () => void load().catch((err: Error) => logger.warn({ err }, 'could not read site and building names for notifications; ids are shown'));
  refresh();
  const timer = setInterval(refresh, 60_000);
  timer.unref();
  return {
    names: { site: (id) => sites.get(id), building: (site, id) => buildings.get(`${site}/${id}`) },
    stop: () => clearInterval(timer),
  };
}
