import {
  commandMessageSchema, switchCodes, valveCodes, type CommandMessage, type CommandOutcome, type Device, type KindPayload, type SwitchState, type ValveState,
} from '../core/index.js';
import type { Rng } from './random.js';

/**
 * What a simulated device does with a command (core/commands.ts): a household meter's motorised
 * valve, a circuit's motor-operated breaker, a detector's hush and self-test. Pure state, no I/O: the
 * fleet hands it the messages it receives, publishes the replies after their delay, and passes each
 * reading through `apply`, so a closed valve shows as zero flow and an open breaker as zero power,
 * and the reading carries the state itself as its code (`valve`, `switch`: core/kinds/codes.ts) —
 * `moving` while the valve travels, `fault` when it did not reach its end position.
 *
 * Timings and failure rates are of the equipment, not of a standard: the motorised ball valves of
 * valve-controlled household meters take seconds to tens of seconds to travel on a small DC motor
 * (we draw 5–20 s); a motor-operated breaker opens or closes within about a second (0.3–1.5 s).
 * A few per cent of operations fail — a valve seized by scale, a breaker that will not re-close on a
 * fault — so the platform's `failed` path is exercised in the demo too.
 */

export interface ActuatorReply {
  readonly id: string;
  readonly outcome: CommandOutcome;
  readonly state?: string;
  readonly message?: string;
}

/** What to publish and when (simulated ms from now); `undefined` for a message that is not a command. */
export interface ActuatorAction {
  readonly delayMs: number;
  readonly reply: ActuatorReply;
}

export interface Actuator {
  /** Takes a command message; answers the reply to send after `delayMs`. The same id is executed once and answered again alike. */
  receive(payload: Buffer | string, now: number): ActuatorAction | undefined;
  /** The reading as the device's state makes it (valve closed: no flow; breaker open: no power). */
  apply(payload: KindPayload, now: number): KindPayload;
  /** `open`/`closed`/`moving`/`fault` or `on`/`off`/`tripped`; undefined for a device with nothing to switch. */
  state(now: number): string | undefined;
}

const VALVE_FAILURE = 0.03;
const BREAKER_FAILURE = 0.02;
/** Operations remembered for idempotency: a device keeps a short list of what it has done. */
const REMEMBERED = 64;

export function createActuator(device: Device, rng: Rng): Actuator | undefined {
  const caps = device.capabilities ?? [];
  if (caps.length === 0) return undefined;
  const done = new Map<string, ActuatorReply>();
  // The switched state and when a change in progress completes.
  let state: ValveState | SwitchState | undefined = device.kind === 'power_meter' ? 'on' : device.kind === 'water_meter' ? 'open' : undefined;
  let pending: { until: number; to: ValveState | SwitchState; fails: boolean } | undefined;
  let hushedUntil = 0;
  // The profile's register keeps counting what the household would have drawn; while the valve is
  // closed (breaker open) that advance is held back, so the register stays flat and never runs backwards.
  const register = device.kind === 'water_meter' ? 'volume' : device.kind === 'power_meter' ? 'energy' : undefined;
  let lastRaw: number | undefined;
  let heldBack = 0;

  const settle = (now: number) => {
    if (pending && now >= pending.until) {
      state = pending.fails ? (device.kind === 'water_meter' ? 'fault' : state) : pending.to;
      pending = undefined;
    }
  };
  const remember = (reply: ActuatorReply) => {
    done.set(reply.id, reply);
    if (done.size > REMEMBERED) done.delete(done.keys().next().value as string);
  };

  const operate = (c: CommandMessage, now: number): ActuatorAction => {
    const fail = (message: string, delayMs: number): ActuatorAction => ({ delayMs, reply: { id: c.id, outcome: 'failed', message, ...(state ? { state } : {}) } });
    if (device.kind === 'water_meter' && caps.includes('valve') && (c.name === 'open' || c.name === 'close')) {
      const to = c.name === 'close' ? 'closed' : 'open';
      const delayMs = rng.uniform(5_000, 20_000);
      const fails = rng.chance(VALVE_FAILURE);
      pending = { until: now + delayMs, to, fails };
      state = 'moving';
      return fails ? { delayMs, reply: { id: c.id, outcome: 'failed', state: 'fault', message: 'valve did not reach its end position' } }
        : { delayMs, reply: { id: c.id, outcome: 'succeeded', state: to } };
    }
    if (device.kind === 'power_meter' && caps.includes('switch') && (c.name === 'open' || c.name === 'close' || c.name === 'reset')) {
      const delayMs = rng.uniform(300, 1_500);
      if (c.name === 'reset' && state !== 'tripped') return fail('not tripped: nothing to reset', delayMs);
      const to = c.name === 'open' ? 'off' : 'on';
      const fails = rng.chance(BREAKER_FAILURE);
      if (fails) return fail(c.name === 'open' ? 'breaker mechanism did not open' : 'breaker would not close', delayMs);
      pending = { until: now + delayMs, to, fails: false };
      return { delayMs, reply: { id: c.id, outcome: 'succeeded', state: to } };
    }
    if (device.kind === 'smoke_detector' && caps.includes('hush') && c.name === 'hush') {
      const seconds = Number(c.params?.durationSeconds ?? 300);
      hushedUntil = now + seconds * 1000;
      return { delayMs: 200, reply: { id: c.id, outcome: 'succeeded', message: `hushed for ${seconds} s` } };
    }
    if (device.kind === 'smoke_detector' && caps.includes('self_test') && c.name === 'test') {
      return { delayMs: rng.uniform(2_000, 5_000), reply: { id: c.id, outcome: 'succeeded', message: 'sounder and chamber test passed' } };
    }
    return fail(`this device cannot ${c.name}`, 100);
  };

  return {
    receive(payload, now) {
      let parsed;
      try {
        parsed = commandMessageSchema.safeParse(JSON.parse(payload.toString()));
      } catch {
        return undefined;
      }
      if (!parsed.success) return undefined;
      settle(now);
      // A redelivered command (QoS 1 DUP, a platform retry): answer again, do not act again.
      const earlier = done.get(parsed.data.id);
      if (earlier) return { delayMs: 50, reply: earlier };
      if (Date.parse(parsed.data.expiresAt) <= now) {
        const reply: ActuatorReply = { id: parsed.data.id, outcome: 'failed', message: 'received after it expired; not executed' };
        remember(reply);
        return { delayMs: 50, reply };
      }
      const action = operate(parsed.data, now);
      remember(action.reply);
      return action;
    },
    apply(payload, now) {
      settle(now);
      const fields: Record<string, unknown> = { ...payload };
      const cut = state === 'closed' || state === 'fault' || state === 'off' || state === 'tripped';
      const raw = register ? fields[register] : undefined;
      if (register && typeof raw === 'number') {
        if (cut && lastRaw !== undefined && raw > lastRaw) heldBack += raw - lastRaw;
        lastRaw = raw;
        fields[register] = Math.round((raw - heldBack) * 1000) / 1000;
      }
      if (device.kind === 'water_meter' && cut) fields.flow = 0;
      // The state as the device reports it: a meter with a valve or breaker says where it stands in every reading.
      if (device.kind === 'water_meter' && caps.includes('valve') && state) fields.valve = valveCodes[state as ValveState];
      if (device.kind === 'power_meter' && caps.includes('switch') && state) fields.switch = switchCodes[state as SwitchState];
      if (device.kind === 'power_meter' && cut) {
        fields.power = 0;
        fields.current = 0;
        fields.residual_current = 0;
      }
      // A hushed detector still measures but does not sound: its own alarm flag stays down.
      if (device.kind === 'smoke_detector' && now < hushedUntil && fields.alarm === true) fields.alarm = false;
      return fields as KindPayload;
    },
    state(now) {
      settle(now);
      return state;
    },
  };
}
