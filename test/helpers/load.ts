import mqtt from 'mqtt';

export interface AckedReading {
  readonly device: string;
  readonly ts: number;
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
        if (!err) acked.push({ device: id, ts });
      });
    }, intervalMs);
  });
  return {
    acked: () => acked,
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      // Give in-flight PUBACKs a moment, then close forcefully: a graceful end() waits for every
      // unacknowledged QoS 1 message, forever if the broker was killed.
      await new Promise((r) => setTimeout(r, 500));
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      return acked;
    },
  };
}
