import { connect as tcpConnect } from 'node:net';
import type { Client, PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { createPresence } from '../../broker/presence.js';
import { INGEST, closedByBroker, device, nextMessage, startBroker } from './harness.js';
import type { TestBroker } from './harness.js';

const will = (id: string) => ({ topic: `devices/${id}/status`, payload: Buffer.from('offline'), qos: 1 as const, retain: true });

describe('presence over MQTT', () => {
  let t: TestBroker;
  beforeAll(async () => {
    t = await startBroker();
  });
  afterAll(() => t.close());

  const watcher = (clientId: string) => t.connect({ clientId, username: INGEST.username, password: INGEST.password });
  /** The retained status a new subscriber gets. */
  const retainedStatus = async (id: string): Promise<string> => {
    const w = await watcher(`ingest:r-${id}-${Math.random().toString(36).slice(2, 8)}`);
    const got = nextMessage(w, `devices/${id}/status`);
    await w.subscribeAsync(`devices/${id}/status`, { qos: 1 });
    const { payload, retain } = await got;
    expect(retain).toBe(true);
    await w.endAsync();
    return payload;
  };
  /**
   * A watcher of one device's status (live, not retained) and readings, for "nothing more arrives":
   * `settle(from)` has `from` publish a reading after the event under test and waits for it. The
   * broker handles one connection's packets in order and fans out in order, so a late status (a
   * Will, a takeover's offline) would have reached the watcher before this marker does.
   */
  const statusWatcher = async (clientId: string, id: string) => {
    const w = await watcher(clientId);
    const statuses: string[] = [];
    const readings: string[] = [];
    w.on('message', (topic, payload, packet) => {
      if (topic.endsWith('/telemetry')) readings.push(payload.toString());
      else if (!packet.retain) statuses.push(payload.toString());
    });
    await w.subscribeAsync([`devices/${id}/status`, `devices/${id}/telemetry`], { qos: 1 });
    return {
      statuses,
      async settle(from: Awaited<ReturnType<typeof watcher>>) {
        const text = `{"marker":"${Math.random().toString(36).slice(2, 10)}"}`;
        await from.publishAsync(`devices/${id}/telemetry`, text, { qos: 1 });
        await vi.waitFor(() => expect(readings).toContain(text));
      },
      end: () => w.endAsync(),
    };
  };

  it('tells presence listeners each change, in order', async () => {
    const seen: string[] = [];
    const off = t.broker.onPresence((id, status) => { if (id === 'd2') seen.push(status); });
    const d2 = await t.connect(device('d2'));
    await vi.waitFor(() => expect(seen).toEqual(['online']));
    d2.stream.destroy();
    await vi.waitFor(() => expect(seen).toEqual(['online', 'offline']));
    off();
  });

  it('tells listeners why a device went offline: clean DISCONNECT, lost connection, keep-alive timeout', async () => {
    const seen: string[] = [];
    const off = t.broker.onPresence((id, status, _ts, cause) => { if (id === 'd3') seen.push(`${status}:${cause}`); });
    const clean = await t.connect(device('d3'));
    await clean.endAsync(); // DISCONNECT (§3.14)
    await vi.waitFor(() => expect(seen).toEqual(['online:connected', 'offline:clean']));
    const dropped = await t.connect(device('d3', { will: will('d3') }));
    dropped.stream.destroy(); // no DISCONNECT: the broker publishes the Will
    await vi.waitFor(() => expect(seen.slice(2)).toEqual(['online:connected', 'offline:lost']));
    // A raw client that connects with keep alive 1 s and then says nothing: Aedes closes it after 1.5 s (§3.1.2.10).
    const port = Number(new URL(t.url).port);
    const socket = tcpConnect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'd3', keepalive: 1, username: 'd3', password: Buffer.from(device('d3').password as string) }));
    await vi.waitFor(() => expect(seen.slice(4)).toEqual(['online:connected', 'offline:keepalive']), { timeout: 5_000 });
    socket.destroy();
    off();
  });

  it('marks a device online, then offline after a dropped connection (LWT)', async () => {
    const w = await watcher('ingest:presence');
    await w.subscribeAsync('devices/d1/status', { qos: 1 });
    const online = nextMessage(w, 'devices/d1/status');
    const d1 = await t.connect(device('d1', { will: will('d1') }));
    expect((await online).payload).toBe('online');
    expect(t.broker.connectedDevices()).toBe(1);

    const offline = nextMessage(w, 'devices/d1/status');
    d1.stream.destroy(); // no DISCONNECT: the broker sees a dropped line
    expect((await offline).payload).toBe('offline');
    await closedByBroker(d1);
    expect(await retainedStatus('d1')).toBe('offline');
    expect(t.broker.connectedDevices()).toBe(0);
    await w.endAsync();
  });

  it('marks a device offline after a clean DISCONNECT too', async () => {
    const d2 = await t.connect(device('d2'));
    expect(await retainedStatus('d2')).toBe('online');
    await d2.endAsync();
    await waitFor('d2 retained offline', async () => (await retainedStatus('d2')) === 'offline');
  });

  it('ends online after a reconnect, including a takeover with the same client id', async () => {
    const first = await t.connect(device('d1', { will: will('d1') }));
    first.stream.destroy();
    const second = await t.connect(device('d1', { will: will('d1') }));
    // Takeover (§3.1.4-2): the old connection's Will and disconnect come after the new CONNECT.
    const third = await t.connect(device('d1', { will: will('d1') }));
    await closedByBroker(second);
    await waitFor('d1 retained online', async () => (await retainedStatus('d1')) === 'online');
    const w = await statusWatcher('ingest:takeover', 'd1');
    await w.settle(third);
    // No late offline from the replaced connections' Wills or disconnects.
    expect(w.statuses).toEqual([]);
    expect(await retainedStatus('d1')).toBe('online');
    expect(t.broker.connectedDevices()).toBe(1);
    expect(await t.metric('anju_broker_connected_clients', { type: 'device' })).toBe(1);
    await w.end();
    await third.endAsync();
  });

  it('stays online while a second connection of the same device lives', async () => {
    const main = await t.connect(device('d2', { will: will('d2') }));
    const ota = await t.connect(device('d2', { clientId: 'd2:ota', will: will('d2') }));
    const w = await statusWatcher('ingest:two', 'd2');
    ota.stream.destroy();
    await closedByBroker(ota);
    await w.settle(main);
    // The Will of the dropped connection is suppressed: no offline blip.
    expect(w.statuses).not.toContain('offline');
    expect(await retainedStatus('d2')).toBe('online');
    main.stream.destroy();
    await waitFor('d2 retained offline', async () => (await retainedStatus('d2')) === 'offline');
    await w.end();
  });

  it("re-asserts the real state when a device's status message contradicts it", async () => {
    const d1 = await t.connect(device('d1'));
    await d1.publishAsync('devices/d1/status', 'offline', { qos: 1, retain: true });
    await waitFor('d1 retained online', async () => (await retainedStatus('d1')) === 'online');
    await d1.endAsync();
  });
});

describe('presence state machine', () => {
  const fakeClient = (closed = false) => ({ closed }) as unknown as Client;
  const setup = () => {
    const published: string[] = [];
    const presence = createPresence(
      {
        publish(packet: PublishPacket, cb: (err?: Error) => void) {
          published.push(`${packet.topic}=${String(packet.payload)}`);
          setImmediate(cb);
        },
      } as never,
      pino({ level: 'silent' }),
    );
    return { presence, published };
  };

  it('a late disconnect of a taken-over connection does not mark the device offline', async () => {
    const { presence, published } = setup();
    const old = fakeClient();
    const fresh = fakeClient();
    presence.connected(old, 'd1');
    await presence.settled();
    presence.connected(fresh, 'd1');
    presence.disconnected(old, 'd1', 'lost'); // after the new connect
    await presence.settled();
    expect(published.at(-1)).toBe('devices/d1/status=online');
    expect(presence.onlineDevices()).toBe(1);
  });

  it("suppresses a closing connection's Will only while another connection lives", () => {
    const { presence } = setup();
    const a = fakeClient(true);
    const b = fakeClient();
    const lwt = { cmd: 'publish', topic: 'devices/d1/status', payload: 'offline', qos: 1, retain: true, dup: false } as const;
    presence.connected(a, 'd1');
    expect(presence.suppressWill(a, lwt)).toBe(false);
    presence.connected(b, 'd1');
    expect(presence.suppressWill(a, lwt)).toBe(true);
    expect(presence.suppressWill(a, { ...lwt, topic: 'devices/d1/telemetry' })).toBe(false);
    expect(presence.suppressWill(b, lwt)).toBe(false); // b is not closing: a normal publish
  });

  it('coalesces bursts and ends offline when the last connection goes', async () => {
    const { presence, published } = setup();
    const a = fakeClient();
    presence.connected(a, 'd9');
    presence.disconnected(a, 'd9', 'clean');
    await presence.settled();
    expect(published).toEqual(['devices/d9/status=offline']);
    expect(presence.onlineDevices()).toBe(0);
  });
});

