/**
 * Child process for bench/alerts: N MQTT smoke detectors at QoS 1, each keeping `window` messages
 * in flight, for `seconds`, at an optional fixed rate — bench/common/publishers.ts, except that every
 * `triggerEvery`-th message of a device is a fire reading (smoke 0.5 dB/m and the detector's own
 * `alarm: true`: the smoke rule raises a critical alarm). The device's next reading is normal again
 * (smoke 0.01 < the rule's clearBelow), which clears it, so every trigger raises a new alarm: exactly
 * one `raised` event per trigger, matched back by (device, ts). Reports counts to the parent over IPC.
 */
import mqtt from 'mqtt';

export interface AlertPublishersJob {
  url: string;
  devices: Array<{ id: string; secret: string }>;
  seconds: number;
  window: number;
  /** msg/s per publisher; 0 = as fast as PUBACKs allow. */
  ratePerPublisher: number;
  /** One message in this many (per device) is a fire reading; 0 = none. */
  triggerEvery: number;
}

async function run(job: AlertPublishersJob): Promise<void> {
  const clients = await Promise.all(job.devices.map((d) => mqtt.connectAsync(job.url, {
    protocolVersion: 4, clientId: d.id, username: d.id, password: d.secret, reconnectPeriod: 0, keepalive: 60,
  })));
  send({ type: 'connected' });
  const deadline = Date.now() + job.seconds * 1000;
  let acked = 0;
  let triggersAcked = 0;
  let errors = 0;
  await Promise.all(clients.map(async (client, i) => {
    const id = job.devices[i]!.id;
    // Offset per device, so the fire readings of the fleet are spread out, not in lockstep.
    let n = job.triggerEvery > 0 ? (i * 7) % job.triggerEvery : 0;
    let seq = 0;
    let lastTs = 0;
    const topic = `devices/${id}/telemetry`;
    const interval = job.ratePerPublisher > 0 ? 1000 / job.ratePerPublisher : 0;
    const lane = async (): Promise<void> => {
      let next = Date.now();
      while (Date.now() < deadline) {
        if (interval > 0) {
          next += interval * job.window;
          const wait = next - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        // As in bench/common: ts unique and increasing per device; seq = send ms × 1000 + counter.
        const sent = Date.now();
        const ts = Math.max(sent, lastTs + 1);
        lastTs = ts;
        seq = Math.max(seq + 1, sent * 1000);
        n += 1;
        const fire = job.triggerEvery > 0 && n % job.triggerEvery === 0;
        const payload = fire
          ? { smoke: 0.5, alarm: true, temperature: 21.5, co: 1, battery: 90, seq, ts }
          : { smoke: 0.01, temperature: 21.5, co: 1, battery: 90, seq, ts };
        try {
          await client.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
          acked += 1;
          if (fire) triggersAcked += 1;
        } catch {
          errors += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: job.window }, lane));
  }));
  await Promise.all(clients.map((c) => c.endAsync()));
  const u = process.cpuUsage();
  send({ type: 'done', acked, triggersAcked, errors, cpuMs: (u.user + u.system) / 1000 });
}

function send(message: unknown): void {
  process.send?.(message);
}

// The parent went away (it was killed or interrupted): stop publishing.
process.once('disconnect', () => process.exit(1));

process.once('message', (job: AlertPublishersJob) => {
  run(job).then(() => process.exit(0), (err: Error) => { send({ type: 'error', message: err.message }); process.exit(1); });
});
