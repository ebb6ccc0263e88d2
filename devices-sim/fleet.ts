import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { topics, type Device, type KindName } from '../core/index.js';
import { createProfiles, type Profile } from './kinds/index.js';
import { createRng, type Rng } from './random.js';
import type { Scenario } from './scenarios/index.js';

/**
 * The fleet runner: one MQTT connection per simulated device, with the device's own credentials
 * (client id = username = device id, password = its secret), publishing its profile's readings to
 * `devices/{id}/telemetry` — exactly what a real device does, so the broker's auth, ACL and
 * presence and the whole ingest path are exercised for real.
 *
 * Memory stays bounded whatever the broker does: a device that is not connected (or has too many
 * QoS 1 messages unacknowledged) skips its tick and counts it, nothing is queued; reconnects use
 * exponential backoff with jitter so that a broker restart is not met by every device at once.
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
  /** ± fraction of the interval each tick is moved by (default 0.1), so devices drift apart. */
  jitter?: number;
  /** QoS 1 messages a device may have unacknowledged before it skips ticks (default 10). */
  maxInflight?: number;
  /** Retained `online` on connect and `offline` before a clean stop, pairing the Will (default true). */
  announceStatus?: boolean;
  /** Local time offset for daily rhythms, minutes (default +480, Asia/Shanghai). */
  utcOffsetMin?: number;
  connectTimeoutMs?: number;
  keepaliveS?: number;
  /** Scenarios (fire, leak…) bending the profiles of the devices they target; see scenarios/. */
  scenarios?: readonly Scenario[];
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
  reconnects: number;
  /** Telemetry messages per second over the last 10 s. */
  rate: number;
}

export interface Fleet {
  /** Resolves once every device has made its first connection attempt (failed ones keep retrying). */
  start(): Promise<void>;
  /** Stops ticks and reconnects and ends every connection. */
  stop(): Promise<void>;
  stats(): FleetStats;
}

interface SimDevice {
  readonly device: Device;
  readonly secret: string;
  readonly profile: Profile;
  readonly rng: Rng;
  readonly intervalMs: number;
  client?: MqttClient;
  tick?: NodeJS.Timeout;
  retry?: NodeJS.Timeout;
  attempts: number;
  inflight: number;
  everConnected: boolean;
}

const RATE_WINDOW_S = 10;

export function createFleet(config: FleetConfig, deps: FleetDeps): Fleet {
  const { logger } = deps;
  const clock = deps.clock ?? Date.now;
  const speed = config.speed ?? 1;
  const jitter = config.jitter ?? 0.1;
  const maxInflight = config.maxInflight ?? 10;
  const announce = config.announceStatus ?? true;
  if (!(speed > 0)) throw new Error('fleet: speed must be positive');
  // Two connections with one client id would take each other over forever (MQTT 3.1.1 §3.1.4-2).
  const ids = new Set(deps.devices.map((d) => d.device.id));
  if (ids.size !== deps.devices.length) throw new Error('fleet: device ids must be unique');
  if (!(config.reconnectMinMs > 0) || config.reconnectMaxMs < config.reconnectMinMs) throw new Error('fleet: need 0 < reconnectMinMs ≤ reconnectMaxMs');

  const counters = { published: 0, acked: 0, errors: 0, skipped: 0, reconnects: 0 };
  // Per-second publish counts, a fixed ring: the rate costs no memory per message.
  const buckets = new Array<number>(RATE_WINDOW_S + 1).fill(0);
  let bucketSecond = Math.floor(clock() / 1000);
  const rollBuckets = (): number => {
    const s = Math.floor(clock() / 1000);
    for (let k = bucketSecond + 1; k <= Math.min(s, bucketSecond + buckets.length); k++) buckets[k % buckets.length] = 0;
    bucketSecond = Math.max(bucketSecond, s);
    return s;
  };

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

  /** The device's interval, shortened while a scenario that targets it is active. */
  function intervalOf(sim: SimDevice): number {
    let interval = sim.intervalMs;
    const now = simNow();
    for (const scenario of config.scenarios ?? []) {
      if (scenario.intervalMs !== undefined && now >= scenario.startAt && scenario.appliesTo(sim.device)) interval = Math.min(interval, scenario.intervalMs);
    }
    return interval;
  }

  function schedule(sim: SimDevice, delayMs: number): void {
    sim.tick = later(delayMs, () => {
      if (state !== 'running') return;
      publish(sim);
      schedule(sim, intervalOf(sim) * (1 + jitter * (2 * sim.rng.next() - 1)));
    });
  }

  function publish(sim: SimDevice): void {
    const client = sim.client;
    if (!client?.connected || sim.inflight >= maxInflight) {
      counters.skipped++;
      return;
    }
    const now = simNow();
    let payload = sim.profile.next(now);
    for (const scenario of config.scenarios ?? []) {
      if (now >= scenario.startAt && scenario.appliesTo(sim.device)) payload = scenario.apply(payload, now - scenario.startAt, sim.device);
    }
    sim.inflight++;
    counters.published++;
    const bucket = rollBuckets() % buckets.length;
    buckets[bucket] = (buckets[bucket] ?? 0) + 1;
    client.publish(topics.telemetry(sim.device.id), JSON.stringify(payload), { qos: config.qos, retain: false }, (err) => {
      sim.inflight--;
      if (err) {
        counters.errors++;
        logger.debug({ device: sim.device.id, err: err.message }, 'publish failed');
      } else counters.acked++;
    });
  }

  /** Exponential backoff with "full jitter": uniform in [min, min·2^attempt], capped. */
  function backoffMs(sim: SimDevice): number {
    const ceiling = Math.min(config.reconnectMaxMs, config.reconnectMinMs * 2 ** Math.min(sim.attempts, 30));
    return config.reconnectMinMs + sim.rng.next() * (ceiling - config.reconnectMinMs);
  }

  function connect(sim: SimDevice, firstAttempt: () => void): void {
    const id = sim.device.id;
    const client = mqtt.connect(config.brokerUrl, {
      clientId: id,
      username: id,
      password: sim.secret,
      protocolVersion: 4,
      clean: true,
      // We reconnect ourselves: mqtt.js only knows a fixed reconnectPeriod.
      reconnectPeriod: 0,
      connectTimeout: config.connectTimeoutMs ?? 10_000,
      keepalive: config.keepaliveS ?? 60,
      // Never queue while offline: ticks are skipped instead, so memory stays bounded.
      queueQoSZero: false,
      will: { topic: topics.status(id), payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    sim.client = client;
    client.on('connect', () => {
      if (sim.attempts > 0) counters.reconnects++;
      sim.attempts = 0;
      sim.everConnected = true;
      logger.debug({ device: id }, 'device connected');
      if (announce) client.publish(topics.status(id), 'online', { qos: 1, retain: true }, () => undefined);
      firstAttempt();
    });
    client.on('error', (err) => {
      counters.errors++;
      // Refused credentials or an unreachable broker repeat on every attempt: warn once per device.
      const log = sim.everConnected || sim.attempts > 0 ? logger.debug.bind(logger) : logger.warn.bind(logger);
      log({ device: id, err: err.message }, 'device connection error');
    });
    client.on('close', () => {
      firstAttempt();
      if (state !== 'running') return;
      const delay = backoffMs(sim);
      sim.attempts++;
      logger.debug({ device: id, delayMs: Math.round(delay), attempt: sim.attempts }, 'device disconnected, reconnecting');
      if (sim.retry) clearTimeout(sim.retry);
      sim.retry = later(delay, () => {
        if (state === 'running' && !client.connected) client.reconnect();
      });
    });
  }

  async function end(sim: SimDevice): Promise<void> {
    const client = sim.client;
    if (!client) return;
    if (client.connected && announce) {
      await Promise.race([
        client.publishAsync(topics.status(sim.device.id), 'offline', { qos: 1, retain: true }).catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 1_000)),
      ]);
    }
    // A clean DISCONNECT (no Will) when we can; force-close after a grace period otherwise.
    const graceful = client.endAsync(!client.connected);
    const timedOut = await Promise.race([graceful.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 2_000))]);
    if (timedOut) await client.endAsync(true);
  }

  return {
    async start() {
      if (state !== 'idle') throw new Error('fleet: start() may be called once');
      state = 'running';
      wallStart = clock();
      simStart = config.simStart ?? wallStart;
      const profiles = createProfiles(deps.devices.map((d) => d.device), { seed: config.seed, start: simStart, utcOffsetMin: config.utcOffsetMin });
      sims = deps.devices.map(({ device, secret }) => ({
        device,
        secret,
        profile: profiles.get(device.id) as Profile,
        rng: createRng(config.seed, 'net', device.id),
        intervalMs: typeof config.intervalMs === 'function' ? config.intervalMs(device.kind) : config.intervalMs,
        attempts: 0,
        inflight: 0,
        everConnected: false,
      }));
      const spread = config.connectSpreadMs ?? Math.min(10_000, 25 * sims.length);
      logger.info({ devices: sims.length, broker: config.brokerUrl, spreadMs: spread }, 'simulated fleet starting');
      await Promise.all(
        sims.map((sim, i) => new Promise<void>((resolve) => {
          let settled = false;
          const firstAttempt = () => {
            if (!settled) resolve();
            settled = true;
          };
          // Stagger connects, and start each device at a random phase of its interval.
          later((i * spread) / Math.max(1, sims.length) + sim.rng.next() * 5, () => {
            if (state !== 'running') return firstAttempt();
            connect(sim, firstAttempt);
            schedule(sim, sim.rng.next() * sim.intervalMs);
          });
        })),
      );
    },

    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      for (const t of pending) clearTimeout(t);
      pending.clear();
      await Promise.all(sims.map((sim) => end(sim).catch((err: unknown) => logger.warn({ device: sim.device.id, err }, 'device did not close cleanly'))));
      logger.info({ ...counters }, 'simulated fleet stopped');
    },

    stats() {
      const now = rollBuckets();
      let recent = 0;
      for (let k = now - RATE_WINDOW_S; k < now; k++) recent += buckets[((k % buckets.length) + buckets.length) % buckets.length] ?? 0;
      return {
        devices: sims.length,
        connected: sims.filter((s) => s.client?.connected).length,
        ...counters,
        rate: recent / RATE_WINDOW_S,
      };
    },
  };
}
