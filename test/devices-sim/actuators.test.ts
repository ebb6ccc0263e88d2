import { describe, expect, it } from 'vitest';
import { kinds, type Device, type KindPayload } from '../../core/index.js';
import { createActuator } from '../../devices-sim/actuators.js';
import { createRng } from '../../devices-sim/random.js';

const T = Date.UTC(2026, 0, 1);
const meter: Device = { id: 'wm', kind: 'water_meter', site: 's', building: 'b', name: 'wm', purpose: 'household', capabilities: ['valve'], createdAt: T };
const breaker: Device = { id: 'pm', kind: 'power_meter', site: 's', building: 'b', name: 'pm', capabilities: ['switch'], createdAt: T };
const command = (id: string, name: string, expiresAt = T + 600_000) => JSON.stringify({ id, name, expiresAt: new Date(expiresAt).toISOString() });
const water = (volume: number, flow: number): KindPayload => ({ volume, flow }) as unknown as KindPayload;

describe('simulated actuators', () => {
  it('a valve closes after its travel time: flow zero, register held flat, then open again; its readings say so (valve code)', () => {
    // Seeds chosen so these operations succeed (3 % fail by design, tested below).
    const a = createActuator(meter, createRng(1, 'valve'))!;
    expect(a.state(T)).toBe('open');
    expect(a.apply(water(10, 6), T)).toMatchObject({ valve: 0 });
    const act = a.receive(command('c1', 'close'), T)!;
    expect(act.reply).toEqual({ id: 'c1', outcome: 'succeeded', state: 'closed' });
    expect(act.delayMs).toBeGreaterThanOrEqual(5_000);
    expect(act.delayMs).toBeLessThanOrEqual(20_000);
    expect(a.state(T + 1)).toBe('moving');
    // Travelling: `moving` (2), water still flows.
    expect(a.apply(water(10, 6), T + 1)).toMatchObject({ flow: 6, volume: 10, valve: 2 });
    const after = T + act.delayMs;
    expect(a.state(after)).toBe('closed');
    expect(a.apply(water(10.5, 7), after)).toMatchObject({ flow: 0, volume: 10, valve: 1 });
    expect(a.apply(water(11, 7), after + 60_000)).toMatchObject({ flow: 0, volume: 10, valve: 1 });
    const open = a.receive(command('c2', 'open'), after + 60_000)!;
    const opened = after + 60_000 + open.delayMs;
    expect(a.apply(water(11.2, 5), opened - 1)).toMatchObject({ valve: 2 });
    expect(a.apply(water(11.2, 5), opened)).toMatchObject({ flow: 5, volume: 10.2, valve: 0 });
  });

  it('executes a command id once: a redelivery is answered again, not acted on again', () => {
    const a = createActuator(meter, createRng(1, 'valve'))!;
    const first = a.receive(command('c1', 'close'), T)!;
    const again = a.receive(command('c1', 'close'), T + 1_000)!;
    expect(again.reply).toEqual(first.reply);
    expect(again.delayMs).toBeLessThan(first.delayMs);
    // The travel that began with the first delivery is the only one.
    expect(a.state(T + first.delayMs)).toBe('closed');
  });

  it('refuses what arrives expired or what it cannot do, and ignores what is not a command', () => {
    const a = createActuator(meter, createRng(1, 'valve'))!;
    expect(a.receive(command('old', 'close', T - 1), T)?.reply).toMatchObject({ outcome: 'failed', message: expect.stringMatching(/expired/) });
    expect(a.state(T + 60_000)).toBe('open');
    expect(a.receive(command('r', 'reset'), T)?.reply).toMatchObject({ outcome: 'failed' });
    expect(a.receive('garbage', T)).toBeUndefined();
    expect(a.receive('{"id":"x"}', T)).toBeUndefined();
    expect(createActuator({ ...meter, capabilities: [] }, createRng(1))).toBeUndefined();
  });

  it('a breaker opens within a second and cuts power; reset only re-arms a tripped one; some operations fail', () => {
    const b = createActuator(breaker, createRng(2, 'breaker'))!;
    const open = b.receive(command('o', 'open'), T)!;
    expect(open.reply).toMatchObject({ outcome: 'succeeded', state: 'off' });
    expect(open.delayMs).toBeLessThanOrEqual(1_500);
    const at = T + open.delayMs;
    expect(b.apply({ energy: 100, power: 800 } as unknown as KindPayload, T)).toMatchObject({ power: 800, switch: 0 });
    const p = b.apply({ energy: 100, power: 800, current: 3.6, residual_current: 4 } as unknown as KindPayload, at);
    expect(p).toMatchObject({ power: 0, current: 0, residual_current: 0, energy: 100, switch: 1 });
    const close = b.receive(command('c', 'close'), at)!;
    expect(close.reply).toMatchObject({ outcome: 'succeeded', state: 'on' });
    expect(b.apply({ energy: 100, power: 800 } as unknown as KindPayload, at + close.delayMs)).toMatchObject({ power: 800, switch: 0 });
    expect(b.receive(command('r', 'reset'), at)?.reply).toMatchObject({ outcome: 'failed', message: expect.stringMatching(/not tripped/) });
    // Over many operations, a few per cent fail with a message.
    let failed = 0;
    for (let i = 0; i < 400; i++) {
      const v = createActuator(meter, createRng(3, 'many', i))!;
      if (v.receive(command(`m${i}`, 'close'), T)?.reply.outcome === 'failed') failed++;
    }
    expect(failed).toBeGreaterThan(2);
    expect(failed).toBeLessThan(30);
  });

  it('a valve that fails reports fault (3) once its travel time is over, with no flow; a device with nothing to switch adds no state', () => {
    let seed = 0;
    let a = createActuator(meter, createRng(4, 'fault', seed))!;
    let act = a.receive(command('f', 'close'), T)!;
    while (act.reply.outcome !== 'failed') {
      a = createActuator(meter, createRng(4, 'fault', ++seed))!;
      act = a.receive(command('f', 'close'), T)!;
    }
    expect(act.reply).toMatchObject({ outcome: 'failed', state: 'fault' });
    expect(a.apply(water(10, 6), T + act.delayMs - 1)).toMatchObject({ valve: 2 });
    expect(a.apply(water(10, 6), T + act.delayMs)).toMatchObject({ valve: 3, flow: 0 });
    // Readings of what was asked stay valid payloads of their kind.
    expect(kinds.water_meter.payload.safeParse(a.apply(water(10, 6), T + act.delayMs)).success).toBe(true);

    const detector: Device = { id: 'sd', kind: 'smoke_detector', site: 's', building: 'b', name: 'sd', capabilities: ['hush'], createdAt: T };
    const d = createActuator(detector, createRng(5))!;
    expect(Object.keys(d.apply({ smoke: 0.1 } as unknown as KindPayload, T))).toEqual(['smoke']);
  });
});
