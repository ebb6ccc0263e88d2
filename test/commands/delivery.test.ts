import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCommandService, type CommandService } from '../../commands/index.js';
import type { Command, Device } from '../../core/index.js';
import { createEmbeddedDatabase, type EmbeddedDatabase } from '../../storage/index.js';
import { DEVICE_SECRETS, OPS, closedByBroker, device, granted, nextMessage, startBroker, type TestBroker } from '../broker/harness.js';
import { requireBinary, run } from '../helpers/servers.js';
import { holdPoint } from '../helpers/hold-point.js';

const mosquittoPub = requireBinary('mosquitto_pub', 'mosquitto-clients');
const mosquittoSub = requireBinary('mosquitto_sub', 'mosquitto-clients');

const T = Date.UTC(2026, 0, 1);
const devices: Record<string, Device> = {
  d1: { id: 'd1', kind: 'water_meter', site: 's', building: 'b', name: 'household meter 2-301', capabilities: ['valve'], createdAt: T },
  d2: { id: 'd2', kind: 'power_meter', site: 's', building: 'b', name: 'lighting breaker', capabilities: ['switch'], createdAt: T },
  d3: { id: 'd3', kind: 'smoke_detector', site: 's', building: 'b', name: 'stairwell detector', createdAt: T },
};

/**
 * Commands end to end through the real embedded broker (Aedes on an ephemeral port), a real DuckDB
 * command store, and third-party devices: Debian's mosquitto_sub / mosquitto_pub, and mqtt.js.
 */
describe.skipIf(mosquittoSub.skip ?? mosquittoPub.skip)(`commands to devices over MQTT ${mosquittoSub.skip ?? mosquittoPub.skip ?? ''}`, () => {
  let dir: string;
  let db: EmbeddedDatabase;
  let t: TestBroker;
  let service: CommandService;
  /** The dispatcher's clock runs this far ahead of the broker's, to reach an expiry and its reply grace without waiting. */
  let ahead = 0;
  const GRACE_MS = 5_000;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anju-commands-'));
    db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '128MB', threads: 1 }, { logger: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    t = await startBroker();
    ahead = 0;
    service = createCommandService(
      { sweepIntervalMs: 60_000, replyGraceMs: GRACE_MS },
      {
        store: db.commands, devices: { get: (id) => devices[id] }, broker: t.broker, logger: pino({ level: 'silent' }), metrics: t.registry,
        now: () => Date.now() + ahead,
      },
    );
  });
  afterEach(async () => {
    service.stop();
    await t.close();
  });

  const port = () => String(t.broker.tcpPort);
  const as = (id: string) => ['-h', '127.0.0.1', '-p', port(), '-V', 'mqttv311', '-u', id, '-P', DEVICE_SECRETS[id]!];
  /** A persistent session (clean session = 0) subscribed to the device's commands, then gone offline. */
  const persistentSession = async (id: string) => {
    const r = await run(mosquittoSub.path!, [...as(id), '-i', id, '-c', '-q', '1', '-t', `devices/${id}/commands/#`, '-E']);
    expect(r.status, r.stderr).toBe(0);
  };
  /** Reconnects the persistent session and prints what it gets within `seconds`. */
  const resume = (id: string, seconds: number) =>
    run(mosquittoSub.path!, [...as(id), '-i', id, '-c', '-q', '1', '-t', `devices/${id}/commands/#`, '-v', '-C', '1', '-W', String(seconds)], (seconds + 5) * 1000);
  const reply = (id: string, body: object) =>
    run(mosquittoPub.path!, [...as(id), '-i', `${id}:reply`, '-q', '1', '-t', `devices/${id}/replies`, '-m', JSON.stringify(body)]);
  const statusOf = async (id: string, status: Command['status']) =>
    vi.waitFor(async () => {
      const c = await service.get(id);
      expect(c?.status).toBe(status);
      return c!;
    }, { timeout: 15_000, interval: 50 });

  it('delivers a command sent while the device is offline once its persistent session returns; the reply completes it, once', async () => {
    await persistentSession('d1');
    const sent = await service.send('d1', { name: 'close', ttlSeconds: 60 }, 'token:operator-on-duty');
    expect(sent).toMatchObject({ device: 'd1', name: 'close', status: 'sent', sentBy: 'token:operator-on-duty' });
    expect(sent.sentAt).toBeGreaterThanOrEqual(sent.createdAt);

    const got = await resume('d1', 20);
    expect(got.status, got.stderr).toBe(0);
    const [topic, payload] = [got.stdout.slice(0, got.stdout.indexOf(' ')), got.stdout.slice(got.stdout.indexOf(' ') + 1).trim()];
    expect(topic).toBe('devices/d1/commands/close');
    const message = JSON.parse(payload) as Record<string, unknown>;
    expect(message).toEqual({ id: sent.id, name: 'close', expiresAt: new Date(sent.expiresAt).toISOString() });
    const delivered = await statusOf(sent.id, 'delivered');
    expect(delivered.deliveredAt).toBeGreaterThanOrEqual(sent.sentAt!);

    const r = await reply('d1', { id: sent.id, outcome: 'succeeded', state: 'closed', message: 'valve closed in 9 s' });
    expect(r.status, r.stderr).toBe(0);
    const done = await statusOf(sent.id, 'succeeded');
    expect(done).toMatchObject({ state: 'closed', message: 'valve closed in 9 s' });

    // The device retries (it never saw our PUBACK, or it is simply buggy): same id, other outcome.
    const again = await reply('d1', { id: sent.id, outcome: 'failed', message: 'late retry' });
    expect(again.status, again.stderr).toBe(0);
    await vi.waitFor(async () => expect(await t.metric('anju_command_replies_total', { result: 'duplicate' })).toBe(1));
    expect(await service.get(sent.id)).toEqual(done);
    expect(await t.metric('anju_command_replies_total', { result: 'recorded' })).toBe(1);
  });

  it('a command sent under an id chosen before (an incident response) is sent once: the same id again answers it as it stands', async () => {
    await persistentSession('d2');
    const first = await service.send('d2', { name: 'open', ttlSeconds: 60 }, 'token:duty', { id: 'response-7f3a' });
    expect(first).toMatchObject({ id: 'response-7f3a', status: 'sent', sentBy: 'token:duty' });
    const again = await service.send('d2', { name: 'open', ttlSeconds: 60 }, 'auto:response', { id: 'response-7f3a' });
    expect(again).toEqual(await service.get('response-7f3a'));
    expect(again.sentBy).toBe('token:duty');
    expect((await service.list({ device: 'd2' }, { limit: 10, offset: 0 })).items.map((c) => c.id)).toEqual(['response-7f3a']);
    const got = await resume('d2', 20);
    expect(got.status, got.stderr).toBe(0);
    expect(got.stdout).toContain('"id":"response-7f3a"');
    // Nothing more waits in the session.
    const none = await resume('d2', 2);
    expect(none.stdout.trim()).toBe('');
  });

  it('never delivers a command whose time to live passed while the device was offline, and marks it expired', async () => {
    await persistentSession('d1');
    const sent = await service.send('d1', { name: 'open', ttlSeconds: 1 }, 'token:ops');
    expect(sent.status).toBe('sent');
    // The broker's own clock must pass the expiry (it withholds by it); the reply grace is skipped.
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(sent.expiresAt), { timeout: 5_000 });
    expect(await service.sweep()).toBe(0);
    expect((await service.get(sent.id))?.status).toBe('sent');
    ahead = GRACE_MS;
    expect(await service.sweep()).toBeGreaterThanOrEqual(1);
    const expired = await service.get(sent.id);
    expect(expired).toMatchObject({ status: 'expired', message: 'no delivery acknowledged and no reply before it expired' });
    expect(expired?.completedAt).toBeGreaterThanOrEqual(sent.expiresAt);

    // Back online: the broker withholds the queued message; mosquitto_sub times out with nothing (exit 27).
    const got = await resume('d1', 2);
    expect(got.stdout).toBe('');
    expect(got.status).toBe(27);
    expect(await t.metric('anju_broker_expired_commands_withheld_total')).toBeGreaterThanOrEqual(1);
    // A reply for it anyway (a confused device) changes nothing.
    expect((await reply('d1', { id: sent.id, outcome: 'succeeded' })).status).toBe(0);
    await vi.waitFor(async () => expect(await t.metric('anju_command_replies_total', { result: 'duplicate' })).toBe(1));
    expect((await service.get(sent.id))?.status).toBe('expired');
  });

  it('a connected mqtt.js device acknowledges and fails a command; a device with no reply by its expiry is failed', async () => {
    const d2 = await t.connect(device('d2', { clean: false }));
    expect(await granted(d2, 'devices/d2/commands/#')).toEqual([1]);
    const next = nextMessage(d2, 'devices/d2/commands/open');
    const sent = await service.send('d2', { name: 'open' }, 'token:ops');
    const message = JSON.parse((await next).payload) as { id: string };
    expect(message.id).toBe(sent.id);
    await statusOf(sent.id, 'delivered');
    await d2.publishAsync('devices/d2/replies', JSON.stringify({ id: sent.id, outcome: 'failed', message: 'motor stalled', state: 'on' }), { qos: 1 });
    expect(await statusOf(sent.id, 'failed')).toMatchObject({ message: 'motor stalled', state: 'on' });

    // Delivered, never answered: failed once the expiry and the reply grace have passed.
    const silent = await service.send('d2', { name: 'reset', ttlSeconds: 1 }, 'token:ops');
    const quiet = await statusOf(silent.id, 'delivered');
    ahead = quiet.expiresAt - Date.now() + 1;
    await service.sweep();
    expect((await service.get(silent.id))?.status).toBe('delivered');
    ahead = quiet.expiresAt - Date.now() + GRACE_MS + 1;
    await service.sweep();
    expect(await service.get(silent.id)).toMatchObject({ status: 'failed', message: 'delivered, but the device did not reply before it expired' });
  });

  it('a clean session\'s answer that comes just after the expiry still counts; with none, the command expires after the grace', async () => {
    const d1 = await t.connect(device('d1', { clean: true }));
    expect(await granted(d1, 'devices/d1/commands/#')).toEqual([1]);
    const next = nextMessage(d1, 'devices/d1/commands/close');
    const sent = await service.send('d1', { name: 'close', ttlSeconds: 60 }, 'token:ops');
    expect(JSON.parse((await next).payload)).toMatchObject({ id: sent.id });
    // The valve is still turning when the command's time is up: no PUBACK trace, so it stays sent.
    ahead = sent.expiresAt - Date.now() + 1;
    await service.sweep();
    expect((await service.get(sent.id))?.status).toBe('sent');
    await d1.publishAsync('devices/d1/replies', JSON.stringify({ id: sent.id, outcome: 'succeeded', state: 'closed', detail: 'closed in 18 s' }), { qos: 1 });
    const done = await statusOf(sent.id, 'succeeded');
    expect(done).toMatchObject({ state: 'closed', message: 'closed in 18 s' });
    expect(done.completedAt).toBeGreaterThan(done.expiresAt);

    const nextOpen = nextMessage(d1, 'devices/d1/commands/open');
    const unanswered = await service.send('d1', { name: 'open', ttlSeconds: 60 }, 'token:ops');
    expect(JSON.parse((await nextOpen).payload)).toMatchObject({ id: unanswered.id });
    ahead = unanswered.expiresAt - Date.now() + GRACE_MS + 1;
    expect(await service.sweep()).toBeGreaterThanOrEqual(1);
    expect(await service.get(unanswered.id)).toMatchObject({ status: 'expired', message: 'no delivery acknowledged and no reply before it expired' });
    expect((await service.get(sent.id))?.status).toBe('succeeded');
  });

  it('a device on a clean session: its reply completes the command and stands for its delivery', async () => {
    const d1 = await t.connect(device('d1', { clean: true }));
    expect(await granted(d1, 'devices/d1/commands/#')).toEqual([1]);
    const next = nextMessage(d1, 'devices/d1/commands/close');
    const sent = await service.send('d1', { name: 'close' }, 'token:ops');
    expect(JSON.parse((await next).payload)).toMatchObject({ id: sent.id });
    await d1.publishAsync('devices/d1/replies', JSON.stringify({ id: sent.id, outcome: 'succeeded', state: 'closed' }), { qos: 1 });
    const done = await statusOf(sent.id, 'succeeded');
    expect(done.deliveredAt).toBe(done.completedAt);
  });

  it('holds a command no session of its device listens for, publishes it when mosquitto subscribes, and lets a stale one expire', async () => {
    // A service account watching every device, in a persistent session, is not the device.
    const ops = await t.connect({ clientId: OPS.username, username: OPS.username, password: OPS.password, clean: false });
    expect(await granted(ops, 'devices/#')).toEqual([1]);
    const held = await service.send('d2', { name: 'open', ttlSeconds: 60 }, 'token:ops');
    expect(held).toMatchObject({ status: 'queued' });
    expect(held.sentAt).toBeUndefined();
    expect(await t.metric('anju_commands_held_total')).toBe(1);
    const listen = (seconds: number) => run(
      mosquittoSub.path!, [...as('d2'), '-i', 'd2', '-q', '1', '-t', 'devices/d2/commands/#', '-v', '-C', '1', '-W', String(seconds)], (seconds + 5) * 1000,
    );
    // Subscribed to another command only: still held.
    const closeOnly = await run(mosquittoSub.path!, [...as('d2'), '-i', 'd2', '-q', '1', '-t', 'devices/d2/commands/close', '-C', '1', '-W', '1'], 6_000);
    expect(closeOnly).toMatchObject({ stdout: '', status: 27 });
    expect((await service.get(held.id))?.status).toBe('queued');
    // A clean session that subscribes only now: the held command is published to it.
    const got = await listen(10);
    expect(got.status, got.stderr).toBe(0);
    expect(got.stdout.slice(0, got.stdout.indexOf(' '))).toBe('devices/d2/commands/open');
    expect(JSON.parse(got.stdout.slice(got.stdout.indexOf(' ') + 1))).toMatchObject({ id: held.id, name: 'open' });
    expect((await statusOf(held.id, 'sent')).sentAt).toBeGreaterThanOrEqual(held.createdAt);

    // Held past its expiry: never published, expired by the sweep.
    const stale = await service.send('d2', { name: 'reset', ttlSeconds: 1 }, 'token:ops');
    expect(stale.status).toBe('queued');
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(stale.expiresAt), { timeout: 5_000 });
    const nothing = await listen(1);
    expect(nothing.stdout).toBe('');
    expect(nothing.status).toBe(27);
    ahead = GRACE_MS;
    await service.sweep();
    expect(await service.get(stale.id)).toMatchObject({ status: 'expired' });
    expect((await service.get(stale.id))?.sentAt).toBeUndefined();
  });

  it('a command held when the hub restarts is published when its device subscribes after the restart', async () => {
    // Found in review: who waits for a held command was memory only; after a restart the meter woke,
    // subscribed, and its command (a valve to close, up to 24 h to live) expired unsent.
    const held = await service.send('d2', { name: 'open', ttlSeconds: 600 }, 'token:ops');
    expect(held).toMatchObject({ status: 'queued' });
    service.stop();
    await t.close();
    t = await startBroker();
    service = createCommandService(
      { sweepIntervalMs: 60_000, replyGraceMs: GRACE_MS },
      { store: db.commands, devices: { get: (id) => devices[id] }, broker: t.broker, logger: pino({ level: 'silent' }), metrics: t.registry },
    );
    // The meter wakes and subscribes (commands sent before the restart by other tests may come too: held again, at least once).
    const d2 = await t.connect(device('d2'));
    const got = new Promise<Record<string, unknown>>((resolve) => d2.on('message', (_topic, payload) => {
      const m = JSON.parse(payload.toString()) as Record<string, unknown>;
      if (m.id === held.id) resolve(m);
    }));
    await d2.subscribeAsync('devices/d2/commands/#', { qos: 1 });
    expect(await got).toMatchObject({ id: held.id, name: 'open' });
    await statusOf(held.id, 'sent');
    expect((await reply('d2', { id: held.id, outcome: 'succeeded' })).status).toBe(0);
    await statusOf(held.id, 'succeeded');
  });

  it('stop() waits for a flush of held commands under way: the command it published is recorded sent before the store closes', async () => {
    // Found in review: stop() returned at once; the store closed under a flush that had published the
    // command, which stayed queued and went out again after the restart.
    const hold = holdPoint();
    const store: typeof db.commands = new Proxy(db.commands, {
      get(target, key, receiver) {
        if (key !== 'transition') return Reflect.get(target, key, receiver) as unknown;
        return async (...args: Parameters<typeof target.transition>) => {
          if (args[2].status === 'sent') {
            hold.reach();
            await hold.released;
          }
          return target.transition(...args);
        };
      },
    });
    service.stop();
    service = createCommandService(
      { sweepIntervalMs: 60_000, replyGraceMs: GRACE_MS },
      { store, devices: { get: (id) => devices[id] }, broker: t.broker, logger: pino({ level: 'silent' }), metrics: t.registry },
    );
    const held = await service.send('d2', { name: 'open', ttlSeconds: 600 }, 'token:ops');
    expect(held).toMatchObject({ status: 'queued' });
    const d2 = await t.connect(device('d2'));
    await d2.subscribeAsync('devices/d2/commands/#', { qos: 1 });
    await hold.reached;
    let stopped = false;
    const stopping = service.stop().then(() => { stopped = true; });
    await new Promise((r) => setTimeout(r, 100));
    expect(stopped).toBe(false);
    hold.release();
    await stopping;
    expect((await db.commands.get(held.id))?.status).toBe('sent');
    await d2.endAsync();
  });

  it('where the broker\'s sessions outlive the hub (cluster: Redis), a command sent before a restart stays sent', async () => {
    await persistentSession('d1');
    const sent = await service.send('d1', { name: 'close', ttlSeconds: 60 }, 'token:ops');
    await statusOf(sent.id, 'sent');
    service.stop();
    const statuses: string[] = [];
    service = createCommandService(
      { sweepIntervalMs: 60_000, replyGraceMs: GRACE_MS, sessionsSurviveRestart: true },
      { store: db.commands, devices: { get: (id) => devices[id] }, broker: t.broker, logger: pino({ level: 'silent' }), metrics: t.registry },
    );
    service.subscribe((e) => statuses.push(`${e.command.id} ${e.command.status}`));
    await new Promise((r) => setTimeout(r, 300));
    expect((await service.get(sent.id))?.status).toBe('sent');
    expect(statuses.filter((x) => x.startsWith(sent.id))).toEqual([]);
    expect((await reply('d1', { id: sent.id, outcome: 'succeeded' })).status).toBe(0);
    await statusOf(sent.id, 'succeeded');
  });

  it('refuses a command the device does not declare, and bad params, before anything is sent', async () => {
    await expect(service.send('d3', { name: 'hush' }, 'token:ops')).rejects.toMatchObject({ code: 'command_not_supported', category: 'conflict' });
    await expect(service.send('d1', { name: 'reset' }, 'token:ops')).rejects.toMatchObject({ code: 'command_not_supported' });
    await expect(service.send('nope', { name: 'close' }, 'token:ops')).rejects.toMatchObject({ code: 'device_not_found', category: 'not_found' });
    await expect(service.send('d1', { name: 'close', params: { force: true } }, 'token:ops')).rejects.toMatchObject({ code: 'invalid_command_params' });
    expect((await db.commands.list({ device: 'd3' }, { limit: 10, offset: 0 })).total).toBe(0);
  });

  it('keeps a device out of another device\'s commands and replies (ACL)', async () => {
    // mosquitto_sub exits non-zero when every subscription is refused (SUBACK 0x80).
    const sub = await run(mosquittoSub.path!, [...as('d2'), '-i', 'd2', '-q', '1', '-t', 'devices/d1/commands/#', '-C', '1', '-W', '3'], 10_000);
    expect(sub.stdout).toBe('');
    expect(sub.stderr).toMatch(/denied/i);
    expect(await t.metric('anju_broker_acl_denied_total', { action: 'subscribe' })).toBeGreaterThanOrEqual(1);
    // Answering for d1 closes d2's connection without a PUBACK.
    const d2 = await t.connect(device('d2'));
    const closed = closedByBroker(d2);
    d2.publish('devices/d1/replies', '{"id":"x","outcome":"succeeded"}', { qos: 1 });
    await closed;
    expect(await t.metric('anju_broker_acl_denied_total', { action: 'publish' })).toBeGreaterThanOrEqual(1);
    // Nor may a device publish into its own commands subtree.
    const d3 = await t.connect(device('d3'));
    const closed3 = closedByBroker(d3);
    d3.publish('devices/d3/commands/test', '{}', { qos: 1 });
    await closed3;
  });

  it('refuses (no PUBACK) a reply while no dispatcher is attached, and counts an unreadable one without losing the connection', async () => {
    const d1 = await t.connect(device('d1'));
    await d1.publishAsync('devices/d1/replies', 'not json', { qos: 1 });
    await vi.waitFor(async () => expect(await t.metric('anju_command_replies_total', { result: 'invalid' })).toBe(1));
    expect(d1.connected).toBe(true);
    service.stop();
    const closed = closedByBroker(d1);
    d1.publish('devices/d1/replies', '{"id":"x","outcome":"succeeded"}', { qos: 1 });
    await closed;
    expect(await t.metric('anju_broker_publishes_refused_total', { reason: 'unavailable' })).toBeGreaterThanOrEqual(1);
  });
});
