import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, startAnju, waitFor, type AnjuProcess } from '../helpers/anju-process.js';

const ADMIN = 'alerts-admin-token-0123456789';
const root = fileURLToPath(new URL('../../', import.meta.url));

interface SseEvent { id: string; event: string; data: { type: string; alarm: { id: string; type: string; severity: string; status: string;
  originator: { id: string } } } }

/** Reads an SSE response body into events until stopped. */
function readSse(res: Response): { events: SseEvent[]; stop(): void } {
  const events: SseEvent[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const field = (name: string) => block.split('\n').find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim();
        const data = field('data');
        if (data) events.push({ id: field('id') ?? '', event: field('event') ?? '', data: JSON.parse(data) as SseEvent['data'] });
      }
    }
  })();
  return { events, stop() { stopped = true; void reader.cancel().catch(() => undefined); } };
}

describe('alerts end to end: the simulator\'s kitchen fire raises an alarm on SSE, worked to closure through the API', () => {
  let dataDir: string;
  let anju: AnjuProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'anju-alerts-e2e-'));
    anju = await startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN, ANJU_INGEST_PASSWORD: 'service-password-1' });
  }, 90_000);

  afterAll(async () => {
    await anju?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('fire → SSE and MQTT raised (critical) → viewer 403 → maintenance acks and clears', async () => {
    const admin = apiClient(anju.http, ADMIN);
    const device = await admin<Record<string, unknown>>('POST', '/api/devices', { id: 'al-sd-301', kind: 'smoke_detector', site: 'al', building: 'b3', location: '301 kitchen' });
    expect(device.status).toBe(201);
    const maintenance = (await admin<{ token: string }>('POST', '/api/tokens', { name: 'Wang (maintenance)', role: 'maintenance' })).body.token;
    const viewer = (await admin<{ token: string }>('POST', '/api/tokens', { name: 'board', role: 'viewer' })).body.token;

    const stream = await fetch(`${anju.http}/api/alerts/stream?access_token=${encodeURIComponent(viewer)}`, { headers: { accept: 'text/event-stream' } });
    expect(stream.status).toBe(200);
    const sse = readSse(stream);

    // A service account subscribed to alarm events over MQTT.
    const service = await mqtt.connectAsync(anju.mqtt, { protocolVersion: 4, clientId: 'anju-ingest:alarms', username: 'anju-ingest', password: 'service-password-1', reconnectPeriod: 0 });
    const mqttEvents: Array<{ topic: string; type: string }> = [];
    service.on('message', (topic, payload) => mqttEvents.push({ topic, type: (JSON.parse(payload.toString()) as { type: string }).type }));
    await service.subscribeAsync('anju/alerts/#', { qos: 1 });

    const credentials = join(dataDir, 'fleet.json');
    await writeFile(credentials, JSON.stringify([device.body]));
    const sim = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'sim', '--broker', anju.mqtt, '--credentials', credentials, '--interval', '1', '--duration', '20', '--scenario', 'fire:b3@+1s'], {
      cwd: root, env: { PATH: process.env.PATH ?? '', ANJU_LOG_LEVEL: 'warn' }, stdio: 'ignore',
    });
    try {
      const raised = await waitFor('a critical fire alarm on SSE', async () =>
        sse.events.find((e) => e.event === 'raised' && e.data.alarm.severity === 'critical' && e.data.alarm.originator.id === 'al-sd-301'), 30_000);
      expect(['smoke', 'heat', 'heat_rise']).toContain(raised.data.alarm.type);
      const id = raised.data.alarm.id;

      // Over MQTT: one message per change of the fire incident, not per alarm.
      await waitFor('the incident over MQTT', async () => mqttEvents.find((m) => m.type === 'raised' && m.topic === 'anju/alerts/al/incident/fire'));
      expect(mqttEvents.filter((m) => m.type === 'raised').map((m) => m.topic)).toEqual(['anju/alerts/al/incident/fire']);

      const list = await admin<{ items: Array<{ id: string; status: string }> }>('GET', '/api/alerts?status=active_unack&site=al');
      expect(list.body.items.map((a) => a.id)).toContain(id);

      const asViewer = apiClient(anju.http, viewer);
      expect((await asViewer('POST', `/api/alerts/${id}/ack`)).status).toBe(403);
      const asMaintenance = apiClient(anju.http, maintenance);
      expect((await asMaintenance('POST', `/api/alerts/${id}/assign`, { assignee: 'Wang' })).status).toBe(403);
      const ack = await asMaintenance<{ status: string }>('POST', `/api/alerts/${id}/ack`);
      expect(ack.status).toBe(200);
      expect(ack.body.status).toBe('active_ack');
      expect((await asMaintenance('POST', `/api/alerts/${id}/comment`, { text: '到场确认，厨房油锅起火，已扑灭' })).status).toBe(200);
      const cleared = await asMaintenance<{ status: string }>('POST', `/api/alerts/${id}/clear`);
      expect(cleared.status).toBe(200);
      expect(cleared.body.status).toBe('cleared_ack');
      await waitFor('acked and cleared on SSE', async () =>
        (sse.events.some((e) => e.event === 'acked' && e.data.alarm.id === id) && sse.events.some((e) => e.event === 'cleared' && e.data.alarm.id === id)) ? true : undefined);

      const one = await asViewer<{ timeline: Array<{ event: string; actor?: string }> }>('GET', `/api/alerts/${id}`);
      expect(one.body.timeline.map((t) => t.event)).toEqual(expect.arrayContaining(['raised', 'acked', 'commented', 'cleared']));
      expect(one.body.timeline.find((t) => t.event === 'acked')?.actor).toBe('Wang (maintenance)');
    } finally {
      sim.kill('SIGINT');
      sse.stop();
      await service.endAsync();
    }
  }, 90_000);

  it('a persistent device that loses its connection is offline at once; one that disconnects cleanly is not', async () => {
    const admin = apiClient(anju.http, ADMIN);
    const made: Record<string, { secret: string }> = {};
    for (const id of ['al-bin-lost', 'al-bin-clean', 'al-bin-marker']) {
      const r = await admin<{ secret: string }>('POST', '/api/devices', { id, kind: 'smart_bin', site: 'al', building: 'b5', category: 'residual' });
      expect(r.status).toBe(201);
      made[id] = r.body;
    }
    const stream = await fetch(`${anju.http}/api/alerts/stream?access_token=${encodeURIComponent(ADMIN)}`);
    const sse = readSse(stream);
    const connect = (id: string) => mqtt.connectAsync(anju.mqtt, {
      protocolVersion: 4, clientId: id, username: id, password: made[id]?.secret, reconnectPeriod: 0,
      will: { topic: `devices/${id}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    try {
      const clean = await connect('al-bin-clean');
      const lost = await connect('al-bin-lost');
      for (const c of [clean, lost]) await c.publishAsync(`devices/${c.options.clientId}/telemetry`, JSON.stringify({ fill: 20 }), { qos: 1 });
      await clean.endAsync(); // DISCONNECT (§3.14): left on purpose
      lost.stream.destroy(); // the line drops: the broker says `lost`
      const offline = await waitFor('the offline alarm of the dropped bin', async () =>
        sse.events.find((e) => e.event === 'raised' && e.data.alarm.type === 'offline' && e.data.alarm.originator.id === 'al-bin-lost'), 15_000);
      expect((offline.data.alarm as unknown as { details: { reason: string } }).details.reason).toBe('lost');
      // A positive marker instead of a pause: a third bin's line drops after the clean DISCONNECT was
      // handled; presence reaches the engine in order, so once the marker's alarm is on the stream,
      // an alarm for the clean bin would be there before it.
      const marker = await connect('al-bin-marker');
      await marker.publishAsync('devices/al-bin-marker/telemetry', JSON.stringify({ fill: 20 }), { qos: 1 });
      marker.stream.destroy();
      await waitFor('the offline alarm of the marker bin', async () =>
        sse.events.find((e) => e.event === 'raised' && e.data.alarm.type === 'offline' && e.data.alarm.originator.id === 'al-bin-marker'), 15_000);
      expect(sse.events.some((e) => e.data.alarm.originator.id === 'al-bin-clean')).toBe(false);
    } finally {
      sse.stop();
    }
  }, 60_000);
});
