import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientIdAllowed } from '../../broker/index.js';
import { DEVICE_SECRETS, INGEST, device, refusal, startBroker } from './harness.js';
import type { TestBroker } from './harness.js';

// MQTT 3.1.1 §3.2.2.3 CONNACK return codes.
const IDENTIFIER_REJECTED = 2;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

describe('broker authentication', () => {
  let t: TestBroker;
  beforeAll(async () => {
    t = await startBroker();
  });
  afterAll(() => t.close());

  it('accepts a device with its secret', async () => {
    const c = await t.connect(device('d1'));
    expect(c.connected).toBe(true);
    await c.endAsync();
  });

  it('refuses a wrong secret, an unknown user and anonymous access with code 4', async () => {
    expect(await refusal(t.connect({ clientId: 'd1', username: 'd1', password: 'wrong' }))).toBe(BAD_USERNAME_OR_PASSWORD);
    expect(await refusal(t.connect({ clientId: 'ghost', username: 'ghost', password: 'x' }))).toBe(BAD_USERNAME_OR_PASSWORD);
    expect(await refusal(t.connect({ clientId: 'd1' }))).toBe(BAD_USERNAME_OR_PASSWORD);
    expect(await refusal(t.connect({ clientId: 'd1', username: 'd1' }))).toBe(BAD_USERNAME_OR_PASSWORD);
    expect(await refusal(t.connect({ clientId: 'ingest', username: INGEST.username, password: DEVICE_SECRETS.d1 }))).toBe(BAD_USERNAME_OR_PASSWORD);
    expect(await t.metric('anju_broker_auth_failures_total', { reason: 'bad_credentials' })).toBe(3);
    expect(await t.metric('anju_broker_auth_failures_total', { reason: 'missing_credentials' })).toBe(2);
  });

  it('accepts a service account by its password', async () => {
    const c = await t.connect({ clientId: 'ingest:1', username: INGEST.username, password: INGEST.password });
    expect(c.connected).toBe(true);
    await c.endAsync();
  });

  it('confines client ids to the principal namespace: its id, or its id, ":" and a suffix (code 2)', async () => {
    expect(await refusal(t.connect(device('d1', { clientId: 'd2' })))).toBe(IDENTIFIER_REJECTED);
    expect(await refusal(t.connect(device('d1', { clientId: 'd10' })))).toBe(IDENTIFIER_REJECTED);
    expect(await refusal(t.connect(device('d1', { clientId: `d1:${'x'.repeat(130)}` })))).toBe(IDENTIFIER_REJECTED);
    expect(await refusal(t.connect({ clientId: 'd1', username: INGEST.username, password: INGEST.password }))).toBe(IDENTIFIER_REJECTED);
    expect(await refusal(t.connect({ clientId: 'ingestor', username: INGEST.username, password: INGEST.password }))).toBe(IDENTIFIER_REJECTED);
    // The former `-` separator: `d1-ota` could be another device's id, so it is not d1's any more.
    expect(await refusal(t.connect(device('d1', { clientId: 'd1-ota' })))).toBe(IDENTIFIER_REJECTED);
    expect(await refusal(t.connect(device('d1', { clientId: 'd1:' })))).toBe(IDENTIFIER_REJECTED);
    const suffixed = await t.connect(device('d1', { clientId: 'd1:ota' }));
    expect(suffixed.connected).toBe(true);
    await suffixed.endAsync();
    expect(await t.metric('anju_broker_connections_refused_total', { reason: 'client_id' })).toBe(7);
  });

  it('does not let one device take over another device connection', async () => {
    const victim = await t.connect(device('d2'));
    expect(await refusal(t.connect(device('d1', { clientId: 'd2' })))).toBe(IDENTIFIER_REJECTED);
    // Device `d1-x` exists: its id is its own, not a client id in d1's namespace.
    const dashed = await t.connect(device('d1-x'));
    expect(await refusal(t.connect(device('d1', { clientId: 'd1-x' })))).toBe(IDENTIFIER_REJECTED);
    // A round trip on each after the refusals instead of a pause: a SUBACK means the broker still
    // holds that connection (a takeover would have closed it, and the subscribe would be rejected).
    await victim.subscribeAsync('devices/d2/commands/#', { qos: 1 });
    await dashed.subscribeAsync('devices/d1-x/commands/#', { qos: 1 });
    expect(victim.connected).toBe(true);
    expect(dashed.connected).toBe(true);
    // The same device may take its own session over (§3.1.4-2).
    const again = await t.connect(device('d2'));
    expect(again.connected).toBe(true);
    await Promise.all([victim.endAsync(true), dashed.endAsync(), again.endAsync()]);
  });

  it("refuses a Will on another device's topic (code 5)", async () => {
    const will = { topic: 'devices/d2/status', payload: Buffer.from('offline'), qos: 1 as const, retain: true };
    expect(await refusal(t.connect(device('d1', { will })))).toBe(NOT_AUTHORIZED);
    expect(await t.metric('anju_broker_auth_failures_total', { reason: 'will_topic' })).toBe(1);
    const own = await t.connect(device('d1', { will: { ...will, topic: 'devices/d1/status' } }));
    expect(own.connected).toBe(true);
    await own.endAsync();
  });

  it('clientIdAllowed: exact name, or name, ":" and a 1–63 character suffix', () => {
    expect(clientIdAllowed('d1', 'd1')).toBe(true);
    expect(clientIdAllowed('d1', 'd1:a')).toBe(true);
    expect(clientIdAllowed('d1', 'd1:ota:2')).toBe(true);
    expect(clientIdAllowed('d1', `d1:${'x'.repeat(63)}`)).toBe(true);
    expect(clientIdAllowed('d1', `d1:${'x'.repeat(64)}`)).toBe(false);
    expect(clientIdAllowed('d1', 'd1:')).toBe(false);
    expect(clientIdAllowed('d1', 'd1-a')).toBe(false);
    expect(clientIdAllowed('d1', 'd1a')).toBe(false);
    expect(clientIdAllowed('d1', '')).toBe(false);
    // No device id contains ":", so no client id is in two namespaces.
    expect(clientIdAllowed('d1-x', 'd1:x') || clientIdAllowed('d1', 'd1-x:y')).toBe(false);
  });
});
