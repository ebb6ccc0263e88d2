import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { topics, type Device, type KindName } from '../core/index.js';
import { createActuator, type Actuator } from './actuators.js';
import { catchUpProfiles } from './catch-up.js';
import { backoffMs, createGate, createRateMeter, endClient, releaseOnOutcome } from './fleet-support.js';
import { createProfiles, type Profile } from './kinds/index.js';
import { createRng, type Rng } from './random.js';
import { retrofitSteps, type Retrofit } from './retrofit.js';
import { playScenarios, scenarioInterval, type Scenario } from './scenarios/contract.js';

/**
 * The fleet runner: one MQTT connection per simulated device, with the device's own credentials
 * (client id = username = device id, password = its secret), publishing its profile's readings to
 * `devices/{id}/telemetry` — exactly what a real device does, so the broker's auth, ACL and
 * presence and the whole ingest path are exercised for real.
 *
 * Memory stays bounded whatever the broker does: a device that is not connected (or has too many
 * QoS 1 messages unacknowledged) skips its tick and counts it, nothing is queued; reconnects use
 * exponential backoff with jitter so that a broker restart is not met by every device at once, and
 * at most `maxPendingConnects` CONNECTs are in flight. Thousands of devices fit in one process:
 * each costs one mqtt.js client (no offline queue, no resubscribe table) and two timers.
 */

export interface FleetConfig {
  brokerUrl: string;
  qos: 0 | 1;
  /** Wall-clock ms between two reports of a device, for every kind or per kind. Demo: ~10 s. */
  intervalMs: number | ((kind: KindName) => number);
  seed: number;
  /** Time acceleration: simulated ms per wall ms (default 1). Above 1, `ts` runs ahead of the wall clock. */
  speed?: number;
  /** Simulated time at start (default: the clock at start()); e.g. a day ago with speed 60 to catch up. */
  simStart?: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Spread of the first connection attempts (default 25 ms per device, at most 10 s). */
  connectSpreadMs?: number;
  /** CONNECTs awaiting their CONNACK at once (default 64): the fleet connects as fast as the broker authenticates. */
  maxPendingConnects?: number;
  /** ± fraction of the interval each tick is moved by (default 0.1), so devices drift apart. */
  jitter?: number;
  /** QoS 1 messages a device may have unacknowledged before it skips ticks (default 10). */
  maxInflight?: number;
  /** Retained `online` on connect and `offline` before a clean stop, pairing the Will (default true). */
  announceStatus?: boolean;
  /** Local time offset for daily rhythms, minutes (default +480, Asia/Shanghai). */
  utcOffsetMin?: number;
  /** `mqtts:`/`wss:` only: false skips the server certificate check (the platform's own loopback demo fleet). */
  rejectUnauthorized?: boolean;
  connectTimeoutMs?: number;
  /** MQTT keep alive, s (default 60): the idle cost of a device is one PINGREQ per keep alive. */
  keepaliveS?: number;
  /** Scenarios (fire, leak, silent detector, garbage…) bending the devices they target; see scenarios/. */
  scenarios?: readonly Scenario[];
  /**
   * Where the devices' history begins (default: the simulated start). Cumulative registers (energy,
   * volume), batteries and bins run from here, so a fleet continues a backfill that began at this
   * instant with the same seed and retrofits instead of starting its registers over (a cliff).
   */
  historyStart?: number;
  /** Retrofits in that history (see ../retrofit.ts): the same consumption steps as the backfill. */
  retrofits?: readonly Retrofit[];
  /**
   * Profiles a backfill of the same history (same devices, seed, `historyStart` and retrofits)
   * already stepped up to `at` (BackfillDeps.handOver): the fleet waits for them and continues them
   * from there, instead of catching up its own copies from `historyStart` at the same time — on one
   * JS thread the two catch-ups would each take twice as long. Undefined (the backfill failed or
   * was stopped): the fleet catches up on its own.
   */
  continueFrom?: Promise<{ profiles: ReadonlyMap<string, Profile>; at: number } | undefined>;
}

export interface FleetDeps {
  devices: ReadonlyArray<{ device: Device; secret: string }>;
  logger: Logger;
  /** Wall clock, epoch ms (default Date.now). */
  clock?: () => number;
}

export interface FleetStats {
  devices: number;
  connected: number;
  /** Messages handed to the client (telemetry only). */
  published: number;
  /** QoS 1: PUBACK received; QoS 0: written to the socket. */
  acked: number;
  errors: number;
  /** Ticks skipped because the device was disconnected or at its in-flight limit. */
  skipped: number;
  /** Ticks a scenario kept silent on purpose (a dead detector): not a fault of the fleet. */
  suppressed: number;
  reconnects: number;
  /**
   * Connection attempts the broker closed without a CONNACK and without a socket error: how a
   * broker refuses before authentication (Anju's does so over its per-IP connect rate,
   * ANJU_CONNECT_RATE; Mosquitto over max_connections). Retried with backoff like any other failure.
   */
  closedBeforeConnack: number;
  /** Telemetry messages per second over the last 10 s. */
  rate: number;
}

export interface Fleet {
  /** Resolves once every device has made its first connection attempt (failed ones keep retrying). */
  start(): Promise<void>;
  /** Stops ticks and reconnects and ends every connection. */
  stop(): Promise<void>;
  stats(): FleetStats;
  /**
   * Plays a scenario on the running fleet (a fire in building 3, a burst pipe…) from its start
   * time; answers how many of the fleet's devices it bends (0: it targets none of them, nothing
   * was added).
   */
  play(scenario: Scenario): number;
}

interface SimDevice {
  readonly device: Device;
  readonly secret: string;
  readonly profile: Profile;
  readonly rng: Rng;
  readonly intervalMs: number;
  /** Devices with capabilities (a valve, a breaker…) act on commands; see actuators.ts. */
  readonly actuator?: Actuator;
  client?: MqttClient;
  online: boolean;
  attempts: number;
  inflight: number;
  everConnected: boolean;
  /** This connection attempt got a CONNACK (accepted or refused) or a socket error. */
  answered: boolean;
  /** Resolves start()'s wait for this device's first attempt. */
  settle: () => void;
}

export function createFleet(config: FleetConfig, deps: FleetDeps): Fleet {
  const { logger } = deps;
  const clock = deps.clock ?? Date.now;
  const speed = config.speed ?? 1;
  const jitter = config.jitter ?? 0.1;
  const maxInflight = config.maxInflight ?? 10;
  const announce = config.announceStatus ?? true;
  // Grows when a scenario is played on the running fleet (play()).
  const scenarios: Scenario[] = [...(config.scenarios ?? [])];
  if (!(speed > 0)) throw new Error('fleet: speed must be positive');
  // Two connections with one client id would take each other over forever (MQTT 3.1.1 §3.1.4-2).
  const ids = new Set(deps.devices.map((d) => d.device.id));
  if (ids.size !== deps.devices.length) throw new Error('fleet: device ids must be unique');
  if (!(config.reconnectMinMs > 0) || config.reconnectMaxMs < config.reconnectMinMs) throw new Error('fleet: need 0 < reconnectMinMs ≤ reconnectMaxMs');

  const counters = { published: 0, acked: 0, errors: 0, skipped: 0, suppressed: 0, reconnects: 0, closedBeforeConnack: 0 };
  const meter = createRateMeter(10, clock);
  const gate = createGate(Math.max(1, config.maxPendingConnects ?? 64));
  let connected = 0;
  let sims: SimDevice[] = [];
  let state: 'idle' | 'running' | 'stopped' = 'idle';
  let wallStart = 0;
  let simStart = 0;
  const pending = new Set<NodeJS.Timeout>();
  const simNow = () => simStart + (clock() - wallStart) * speed;

  const later = (ms: number, fn: () => void): NodeJS.Timeout => {
    const t = setTimeout(() => {
      pending.delete(t);
      fn();
    }, Math.max(0, ms));
    pending.add(t);
    return t;
  };

  function schedule(sim: SimDevice, delayMs: number): void {
    later(delayMs, () => {
      if (state !== 'running') return;
      publish(sim);
      // Scenario intervals are simulated time; the device's own interval is wall-clock time.
      const wallInterval = scenarioInterval(scenarios, sim.device, simNow(), sim.intervalMs * speed) / speed;
      schedule(sim, wallInterval * (1 + jitter * (2 * sim.rng.next() - 1)));
    });
  }

  function publish(sim: SimDevice): void {
    const client = sim.client;
    if (!client?.connected || sim.inflight >= maxInflight) {
      counters.skipped++;
      return;
    }
    const now = simNow();
    // The scenarios' rules (contract.ts): a suppressing one keeps the device silent, a raw one sends garbage.
    const outcome = playScenarios(scenarios, sim.device, now, () => sim.profile.next(now));
    if (outcome.type === 'skip') {
      counters.suppressed++;
      return;
    }
    const body = outcome.type === 'raw' ? outcome.raw : JSON.stringify(sim.actuator ? sim.actuator.apply(outcome.payload, now) : outcome.payload);
    sim.inflight++;
    counters.published++;
    meter.add();
    client.publish(topics.telemetry(sim.device.id), body, { qos: config.qos, retain: false }, (err) => {
      sim.inflight--;
      if (err) {
        counters.errors++;
        logger.debug({ device: sim.device.id, err: err.message }, 'publish failed');
      } else counters.acked++;
    });
  }

  /** One connection attempt through the gate: the first creates the client, later ones reconnect it. */
  function attempt(sim: SimDevice): void {
    gate.run((release) => {
      if (state !== 'running') {
        release();
        sim.settle();
        return;
      }
      sim.answered = false;
      if (sim.client) {
        releaseOnOutcome(sim.client, release);
        sim.client.reconnect();
      } else {
        open(sim, release);
      }
    });
  }

  function open(sim: SimDevice, release: () => void): void {
    const id = sim.device.id;
    const client = mqtt.connect(config.brokerUrl, {
      clientId: id,
      username: id,
      password: sim.secret,
      protocolVersion: 4,
      clean: true,
      ...(config.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
      // We reconnect ourselves (backoff with jitter, through the gate): mqtt.js only knows a fixed period.
      reconnectPeriod: 0,
      connectTimeout: config.connectTimeoutMs ?? 10_000,
      keepalive: config.keepaliveS ?? 60,
      // A publish postpones the next PINGREQ: a reporting device costs no extra packets.
      reschedulePings: true,
      // No table of topics to replay on reconnect: a device with capabilities subscribes to its commands itself on every connect.
      resubscribe: false,
      // Never queue while offline: ticks are skipped instead, so memory stays bounded.
      queueQoSZero: false,
      will: { topic: topics.status(id), payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    sim.client = client;
    releaseOnOutcome(client, release);
    client.on('connect', () => {
      sim.answered = true;
      if (sim.attempts > 0) counters.reconnects++;
      if (!sim.online) connected++;
      sim.online = true;
      sim.attempts = 0;
      sim.everConnected = true;
      logger.debug({ device: id }, 'device connected');
      if (announce) client.publish(topics.status(id), 'online', { qos: 1, retain: true }, () => undefined);
      if (sim.actuator) {
        client.subscribe(`${topics.commands(id)}/#`, { qos: 1 }, (err) => {
          if (err) logger.warn({ device: id, err: err.message }, 'could not subscribe to commands');
        });
      }
      sim.settle();
    });
    client.on('message', (topic, payload) => {
      const action = sim.actuator?.receive(payload, simNow());
      if (!action) return;
      logger.debug({ device: id, topic, outcome: action.reply.outcome }, 'command received');
      // The delay is the equipment's (simulated time), shortened like everything else by `speed`.
      later(action.delayMs / speed, () => {
        if (!client.connected) return;
        client.publish(topics.replies(id), JSON.stringify(action.reply), { qos: 1, retain: false }, (err) => {
          if (err) logger.debug({ device: id, err: err.message }, 'reply failed');
        });
      });
    });
    client.on('error', (err) => {
      sim.answered = true;
      counters.errors++;
      // Refused credentials or an unreachable broker repeat on every attempt: warn once per device.
      const log = sim.everConnected || sim.attempts > 0 ? logger.debug.bind(logger) : logger.warn.bind(logger);
      log({ device: id, err: err.message }, 'device connection error');
    });
    client.on('close', () => {
      if (!sim.answered && state === 'running') counters.closedBeforeConnack++;
      sim.answered = true;
      if (sim.online) connected--;
      sim.online = false;
      sim.settle();
      if (state !== 'running') return;
      const delay = backoffMs(sim.attempts, config.reconnectMinMs, config.reconnectMaxMs, sim.rng);
      sim.attempts++;
      logger.debug({ device: id, delayMs: Math.round(delay), attempt: sim.attempts }, 'device disconnected, reconnecting');
      later(delay, () => {
        if (state === 'running' && !client.connected) attempt(sim);
      });
    });
  }

  return {
    async start() {
      if (state !== 'idle') throw new Error('fleet: start() may be called once');
      state = 'running';
      wallStart = clock();
      simStart = config.simStart ?? wallStart;
      const retrofits = config.retrofits ?? [];
      const historyStart = Math.min(config.historyStart ?? simStart, simStart);
      const handed = await config.continueFrom?.catch(() => undefined);
      if (state !== 'running') return;
      const continued = handed && deps.devices.every((d) => handed.profiles.has(d.device.id)) ? handed : undefined;
      if (handed && !continued) logger.warn('the backfill handed over profiles for other devices; catching up from the start of the history');
      const profiles = continued?.profiles ?? createProfiles(deps.devices.map((d) => d.device), {
        seed: config.seed, start: historyStart, utcOffsetMin: config.utcOffsetMin,
        ...(retrofits.length > 0 ? { scaleFor: (d: Device) => retrofitSteps(retrofits, d) } : {}),
      });
      await catchUpProfiles(profiles.values(), continued?.at ?? historyStart, simStart, { cancelled: () => state !== 'running' });
      if (state !== 'running') return;
      const firstAttempts: Array<Promise<void>> = [];
      sims = deps.devices.map(({ device, secret }) => {
        let settle = () => undefined as void;
        firstAttempts.push(new Promise<void>((resolve) => { settle = resolve; }));
        return {
          device,
          secret,
          profile: profiles.get(device.id) as Profile,
          rng: createRng(config.seed, 'net', device.id),
          intervalMs: typeof config.intervalMs === 'function' ? config.intervalMs(device.kind) : config.intervalMs,
          ...(device.capabilities?.length ? { actuator: createActuator(device, createRng(config.seed, 'actuator', device.id)) } : {}),
          online: false,
          attempts: 0,
          inflight: 0,
          everConnected: false,
          answered: false,
          settle,
        };
      });
      const spread = config.connectSpreadMs ?? Math.min(10_000, 25 * sims.length);
      logger.info({ devices: sims.length, broker: config.brokerUrl, spreadMs: spread }, 'simulated fleet starting');
      sims.forEach((sim, i) => {
        // Stagger connects, and start each device at a random phase of its interval.
        later((i * spread) / Math.max(1, sims.length) + sim.rng.next() * 5, () => {
          if (state !== 'running') return sim.settle();
          attempt(sim);
          schedule(sim, sim.rng.next() * sim.intervalMs);
        });
      });
      await Promise.all(firstAttempts);
    },

    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      for (const t of pending) clearTimeout(t);
      pending.clear();
      gate.clear();
      for (const sim of sims) sim.settle();
      await Promise.all(sims.map((sim) => endClient(sim.client, topics.status(sim.device.id), announce).catch((err: unknown) => logger.warn({ device: sim.device.id, err }, 'device did not close cleanly'))));
      logger.info({ ...counters }, 'simulated fleet stopped');
    },

    stats() {
      return { devices: sims.length, connected, ...counters, rate: meter.rate() };
    },

    play(scenario) {
      const targets = deps.devices.filter(({ device }) => scenario.appliesTo(device)).length;
      if (targets > 0) scenarios.push(scenario);
      logger.info({ scenario: scenario.name, devices: targets, startAt: new Date(scenario.startAt).toISOString() }, 'scenario played on the running fleet');
      return targets;
    },
  };
}
