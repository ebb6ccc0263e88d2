import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningPlatform } from '../../cli/platform.js';
import { clusterSkip, useCluster } from '../helpers/cluster.js';
import { freePort } from '../helpers/mosquitto.js';

/**
 * deploy/haproxy/haproxy.cfg — the compose profile `cluster`'s balancer — run by Debian's haproxy in
 * front of two real cluster nodes (Redis, PostgreSQL 15, influxd). The file is used as shipped; only
 * what Compose would provide differs: the nodes' addresses (its DNS names become 127.0.0.1 and the
 * nodes' ports; node 3 is absent, so its checks fail) and the bind ports (free ones here).
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const haproxyMissing = spawnSync('haproxy', ['-v']).error ? 'haproxy is not installed (Debian package haproxy; .ci/run installs it)' : undefined;
const skip = haproxyMissing ?? clusterSkip();
const ADMIN = 'haproxy-test-admin-token';

describe.skipIf(skip)(`HAProxy (deploy/haproxy/haproxy.cfg) in front of two nodes ${skip ?? ''}`, () => {
  const cluster = useCluster(2, ADMIN, { ANJU_CONNECT_RATE: '100000' });
  const nodes = cluster.nodes as RunningPlatform[];
  let proxy: ChildProcess | undefined;
  let proxyLog = '';
  const front = { mqtt: 0, ws: 0, http: 0 };

  beforeAll(async () => {
    const portOf = (u: string | undefined) => Number(new URL(u ?? 'http://x:0').port);
    const nodePorts = nodes.map((n) => ({ 1883: portOf(n.urls.mqtt), 8083: portOf(n.urls.ws), 8080: portOf(n.urls.http) }));
    const absent = await freePort();
    [front.mqtt, front.ws, front.http] = [await freePort(), await freePort(), await freePort()];
    const shipped = await readFile(join(root, 'deploy/haproxy/haproxy.cfg'), 'utf8');
    const cfg = shipped
      .replace(/anju-node-(\d):(\d+)/g, (_, n: string, port: string) => {
        const ports = nodePorts[Number(n) - 1] as Record<string, number> | undefined;
        return `127.0.0.1:${ports ? ports[port] : absent}`;
      })
      // Health checks go to each node's HTTP port (`check port 8080` in Compose, where all nodes listen on 8080).
      .replace(/server node(\d) 127\.0\.0\.1:(\d+) check port 8080/g, (_, n: string, port: string) =>
        `server node${n} 127.0.0.1:${port} check port ${nodePorts[Number(n) - 1]?.[8080] ?? absent}`)
      .replace('bind :1883', `bind 127.0.0.1:${front.mqtt}`).replace('bind :8083', `bind 127.0.0.1:${front.ws}`).replace('bind :8080', `bind 127.0.0.1:${front.http}`);
    expect(cfg).not.toMatch(/anju-node-|bind :/);
    const dir = await mkdtemp(join(tmpdir(), 'anju-haproxy-'));
    cluster.dirs.push(dir);
    await writeFile(join(dir, 'haproxy.cfg'), cfg);
    proxy = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
    proxy.stdout?.on('data', (d: Buffer) => { proxyLog += d.toString(); });
    proxy.stderr?.on('data', (d: Buffer) => { proxyLog += d.toString(); });
  }, 120_000);
  afterAll(async () => {
    proxy?.kill('SIGKILL');
  });

  const http = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${front.http}${path}`, {
    ...init, headers: { authorization: `Bearer ${ADMIN}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
  });

  it('serves the API and MQTT through the balancer, spreading connections over the nodes; node 3 (absent) is skipped', async () => {
    await vi.waitFor(async () => expect((await http('/health')).status).toBe(200), { timeout: 20_000, interval: 250 });
    const created = await http('/api/devices', { method: 'POST', body: JSON.stringify({ id: 'sd-lb-1', kind: 'smoke_detector', site: 's1', building: 'b1' }) });
    expect(created.status, proxyLog).toBe(201);
    const secret = ((await created.json()) as { secret: string }).secret;
    // Four connections in turn: each answered (none sent to the absent node), on both nodes.
    const seenOn = new Set<number>();
    for (let k = 0; k < 4; k++) {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${front.mqtt}`, { protocolVersion: 4, clientId: 'sd-lb-1', username: 'sd-lb-1', password: secret, reconnectPeriod: 0 });
      await c.publishAsync('devices/sd-lb-1/telemetry', JSON.stringify({ ts: Date.now() + k, smoke: 0.01, seq: k + 1 }), { qos: 1 });
      for (const [i, n] of nodes.entries()) {
        const health = (await (await fetch(`${n.urls.http}/health`)).json()) as { checks: { broker?: { detail: string } } };
        if (/^[1-9]\d* devices connected/.test(health.checks.broker?.detail ?? '')) seenOn.add(i);
      }
      await c.endAsync();
    }
    expect([...seenOn].sort()).toEqual([0, 1]);
    // MQTT over WebSocket passes through too.
    const ws = await mqtt.connectAsync(`ws://127.0.0.1:${front.ws}/mqtt`, { protocolVersion: 4, clientId: 'sd-lb-1', username: 'sd-lb-1', password: secret, reconnectPeriod: 0 });
    await ws.endAsync();
  }, 60_000);

  it('takes a stopped node out: every new connection goes to the other', async () => {
    const created = await http('/api/devices', { method: 'POST', body: JSON.stringify({ id: 'sd-lb-2', kind: 'smoke_detector', site: 's1', building: 'b1' }) });
    if (created.status !== 201) {
      await new Promise((r) => setTimeout(r, 1000));
      throw new Error(`${created.status} ${await created.text()}\n${proxyLog.split('\n').filter((l) => !l.includes('node3')).slice(-30).join('\n')}`);
    }
    const secret = ((await created.json()) as { secret: string }).secret;
    await nodes[0]!.stop();
    // Checked every 2 s, down after 2 failures.
    await vi.waitFor(async () => {
      for (let k = 0; k < 4; k++) {
        const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${front.mqtt}`, { protocolVersion: 4, clientId: 'sd-lb-2', username: 'sd-lb-2', password: secret, reconnectPeriod: 0, connectTimeout: 2_000 });
        await c.publishAsync('devices/sd-lb-2/telemetry', JSON.stringify({ ts: Date.now(), smoke: 0.01, seq: k + 1 }), { qos: 1 });
        await c.endAsync();
      }
    }, { timeout: 20_000, interval: 500 });
    expect((await http('/health')).status).toBe(200);
  }, 60_000);
});
