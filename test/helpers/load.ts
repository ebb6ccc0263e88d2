import mqtt from 'mqtt';

export interface AckedReading {
  readonly device: string;
  readonly ts: number;
  /** When its PUBACK arrived (client clock, ms) — a resent reading keeps its `ts` but is acknowledged later. */
  readonly ackedAt: number;
}

export interface Load {
  /** Readings whose PUBACK arrived so far. */
  acked(): readonly AckedReading[];
  /** Stops publishing and closes the clients (forcefully when the broker is gone). */
  stop(): Promise<readonly AckedReading[]>;
}

/**
 * Steady QoS 1 load from real mqtt.js devices: each publishes a smoke-detector reading every
 * `intervalMs` with a unique, increasing `ts`, and records the ones the broker acknowledged —
 * the readings that, by contract, must reach the store exactly once.
 */
export async function startLoad(url: string, devices: ReadonlyArray<{ id: string; secret: string }>, intervalMs: number): Promise<Load> {
  const acked: AckedReading[] = [];
  const clients = await Promise.all(devices.map((d) => mqtt.connectAsync(url, {
    protocolVersion: 4, clientId: d.id, username: d.id, password: d.secret, reconnectPeriod: 0, connectTimeout: 5_000,
  })));
  const publishing = publishReadings(clients, devices, intervalMs, (a) => acked.push(a));
  return {
    acked: () => acked,
    async stop() {
      publishing.stop();
      // Give in-flight PUBACKs a moment, then close forcefully: a graceful end() waits for every
      // unacknowledged QoS 1 message, forever if the broker was killed.
      await new Promise((r) => setTimeout(r, 500));
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      return acked;
    },
  };
}

export interface StormLoad extends Load {
  /** PUBACKs so far; resolves once `n` more than `from` have arrived (the load is flowing). */
  waitForAcks(n: number, timeoutMs: number): Promise<void>;
  /** CONNACKs with a non-zero return code seen so far, by code (3 while Anju starts or stops). */
  refusals(): Record<number, number>;
  /** Each device's lost connections so far (client clock, ms): where a killed node's devices were. */
  connectionsLost(): ReadonlyArray<{ readonly device: string; readonly at: number }>;
}

/**
 * QoS 1 load from mqtt.js devices that never give up: each reconnects every `reconnectMs` (as fast
 * as a misbehaving fleet would after an outage), also after a refused CONNACK, and keeps publishing
 * a reading with a unique, increasing `ts` every `intervalMs` while connected. mqtt.js resends its
 * unacknowledged messages after each reconnect, so every reading is either acknowledged eventually
 * or still pending when the load stops. Unlike `startLoad`, the broker need not be up at the start.
 */
export function startStormLoad(
  url: string,
  devices: ReadonlyArray<{ id: string; secret: string; username?: string }>,
  options: { intervalMs: number; reconnectMs: number },
): StormLoad {
  const acked: AckedReading[] = [];
  const refusals: Record<number, number> = {};
  const lost: Array<{ device: string; at: number }> = [];
  const waiters = new Set<() => void>();
  const clients = devices.map((d) => {
    const client = mqtt.connect(url, {
      // On Anju's broker the username is the device id; on another broker it may be a shared one.
      protocolVersion: 4, clientId: d.id, username: d.username ?? d.id, password: d.secret, clean: true,
      reconnectPeriod: options.reconnectMs, connectTimeout: 2_000, keepalive: 10, reconnectOnConnackError: true,
    });
    client.on('error', (err) => {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number') refusals[code] = (refusals[code] ?? 0) + 1;
    });
    // 'offline' once per lost connection (not again for each failed reconnect attempt).
    client.on('offline', () => lost.push({ device: d.id, at: Date.now() }));
    return client;
  });
  const publishing = publishReadings(clients, devices, options.intervalMs, (a) => {
    acked.push(a);
    for (const w of [...waiters]) w();
  });
  return {
    acked: () => acked,
    refusals: () => ({ ...refusals }),
    connectionsLost: () => lost,
    waitForAcks(n, timeoutMs) {
      const target = acked.length + n;
      return new Promise((resolve, reject) => {
        if (acked.length >= target) return resolve();
        const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`fewer than ${n} PUBACKs within ${timeoutMs} ms (${acked.length} in all)`)); }, timeoutMs);
        const check = () => {
          if (acked.length < target) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
    async stop() {
      publishing.stop();
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      return acked;
    },
  };
}

/**
 * Each client publishes a smoke-detector reading for its device every `intervalMs` while connected,
 * with a unique, increasing `ts`, at QoS 1; `onAck` is told each one the broker acknowledged.
 */
function publishReadings(clients: mqtt.MqttClient[], devices: ReadonlyArray<{ id: string }>, intervalMs: number,
  onAck: (a: AckedReading) => void): { stop(): void } {
  let stopped = false;
  const timers = clients.map((client, i) => {
    const id = devices[i]!.id;
    let lastTs = 0;
    let seq = 0;
    return setInterval(() => {
      if (stopped || !client.connected) return;
      const ts = Math.max(Date.now(), lastTs + 1);
      lastTs = ts;
      seq += 1;
      client.publish(`devices/${id}/telemetry`, JSON.stringify({ smoke: 0.01, temperature: 20 + (seq % 10), seq, ts }), { qos: 1 }, (err) => {
        if (!err) onAck({ device: id, ts, ackedAt: Date.now() });
      });
    }, intervalMs);
  });
  return {
    stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
    },
  };
}
