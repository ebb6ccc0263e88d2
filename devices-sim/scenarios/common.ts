import type { Device, KindName, KindPayload } from '../../core/index.js';
import { hashSeed } from '../random.js';
import type { ScenarioOptions } from './contract.js';

/** Helpers the scenario files share: targeting, parameters and the shape of an event in time. */

export const SECOND = 1_000;
export const MINUTE = 60_000;
export const HOUR = 3_600_000;

/**
 * A target names a device id, a building id or a site id; on top of it the scenario's own kinds
 * (and, from a file, a kind / purpose / category filter) decide which devices it bends.
 */
export function targetMatcher(target: string, kinds: readonly KindName[], options: ScenarioOptions | undefined): (device: Device) => boolean {
  const f = options?.filter ?? {};
  return (device) =>
    (device.id === target || device.building === target || device.site === target) &&
    (f.kind !== undefined ? device.kind === f.kind : kinds.includes(device.kind)) &&
    (f.purpose === undefined || device.purpose === f.purpose) &&
    (f.category === undefined || device.category === f.category);
}

/** A scenario-specific number from the options, or its documented default. */
export function param(options: ScenarioOptions | undefined, name: string, fallback: number): number {
  const v = options?.params?.[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

export function durationOf(options: ScenarioOptions | undefined, fallback: number | undefined): number | undefined {
  return options?.durationMs ?? fallback;
}

export function endOf(startAt: number, durationMs: number | undefined): number | undefined {
  return durationMs === undefined ? undefined : startAt + durationMs;
}

/** A numeric field of the normal payload, or a fallback when the device did not send it. */
export function field(payload: KindPayload, name: string, fallback: number): number {
  const v = payload[name];
  return typeof v === 'number' ? v : fallback;
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * The time course of an event that builds up while it lasts and dies away once it is over:
 * `t` is the time into the build-up (frozen at the end), `fade` is 1 while it lasts and decays
 * exponentially with `tauMs` afterwards (a fire put out, a room ventilated).
 */
export function envelope(elapsedMs: number, durationMs: number | undefined, tauMs: number): { t: number; fade: number; over: boolean } {
  if (durationMs === undefined || elapsedMs < durationMs) return { t: elapsedMs, fade: 1, over: false };
  return { t: durationMs, fade: Math.exp(-(elapsedMs - durationMs) / tauMs), over: true };
}

/** Milliseconds of the event that have run so far: what an extra flow or load has added to a register. */
export function activeMs(elapsedMs: number, durationMs: number | undefined): number {
  return durationMs === undefined ? elapsedMs : Math.min(elapsedMs, durationMs);
}

/** A stable number in [0, 1) per device (and salt): each leaking cistern runs at its own rate. */
export function unitHash(...parts: Array<string | number>): number {
  return hashSeed(...parts) / 4294967296;
}
