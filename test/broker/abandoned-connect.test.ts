import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { startBroker } from './harness.js';

/**
 * The credential check of a CONNECT whose client left while it waited its turn is not run (an
 * scrypt each, in production): in a reconnect storm the checks go to clients still there
 * (broker/credential-gate.ts; the storm itself is measured by `npm run bench:storm`).
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function brokerWithHeldChecks() {
  const checked: string[] = [];
  const holds = new Map<string, () => void>();
  // Each device's check waits until the test lets it finish.
  const { url, wsUrl, metric, close } = await startBroker({ connectRatePerMinute: 0, credentialConcurrency: 1 }, {
    authenticateDevice: (id, secret) => {
      checked.push(id);
      return new Promise<boolean>((resolve) => holds.set(id, () => resolve(secret === `secret-${id}`)));
    },
  });
  cleanups.push(close);
  const connect = (id: string, transport: 'tcp' | 'ws' = 'tcp'): MqttClient => {
    const client = mqtt.connect(transport === 'tcp' ? url : wsUrl, { clientId: id, username: id, password: `secret-${id}`, reconnectPeriod: 0, connectTimeout: 30_000, protocolVersion: 4 });
    client.on('error', () => undefined);
    cleanups.push(() => new Promise<void>((resolve) => client.end(true, {}, () => resolve())));
    return client;
  };
  return { checked, holds, connect, metric };
}

describe.each(['tcp', 'ws'] as const)('broker: a CONNECT abandoned while its credential check waits (%s)', (transport) => {
  it('is not checked; the clients still there are, in turn, and connect', async () => {
    const { checked, holds, connect: connectOn, metric } = await brokerWithHeldChecks();
    // Aedes pauses a connection while it authenticates: a WebSocket closing then never emits its end (the check looks deeper).
    const connect = (id: string) => connectOn(id, transport);
    const first = connect('d1');
    await waitFor('d1 checked', () => checked.includes('d1'));
    // Two more CONNECTs wait behind d1's check; d2 gives up before its turn.
    const second = connect('d2');
    const third = connect('d3');
    await waitFor('two checks waiting', async () => (await metric('anju_broker_credential_checks_waiting')) === 2);
    second.end(true);
    // Nothing on the broker's side tells when it has seen d2's socket close (same process, loopback: well within this).
    await new Promise((resolve) => setTimeout(resolve, 300));
    holds.get('d1')!();
    await waitFor('d1 connected', () => first.connected);
    await waitFor('d3 checked', () => checked.includes('d3'));
    expect(await metric('anju_broker_credential_checks_waiting')).toBe(0);
    holds.get('d3')!();
    await waitFor('d3 connected', () => third.connected);
    expect(checked).toEqual(['d1', 'd3']);
    expect(await metric('anju_broker_connections_refused_total', { reason: 'abandoned' })).toBe(1);
    // d2 connecting again is checked as any other.
    const again = connect('d2');
    await waitFor('d2 checked', () => checked.includes('d2'));
    holds.get('d2')!();
    await waitFor('d2 connected', () => again.connected);
    expect(checked).toEqual(['d1', 'd3', 'd2']);
  });
});
