import { chunduCommunity, type Device, type DeviceInput } from '../../core/index.js';

/** A registered device from a registry input, as the platform would hand it to the simulator. */
export function asDevice(input: DeviceInput): Device {
  return { ...input, name: input.name ?? input.id, createdAt: 0 };
}

export function demoDevices(): Device[] {
  return chunduCommunity().devices.map(asDevice);
}

/** Tuesday 2026-01-06 00:00 in Asia/Shanghai. */
export const START = Date.UTC(2026, 0, 5, 16, 0);
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** Local (UTC+8) hour of an epoch-ms instant. */
export function localHour(ts: number): number {
  return Math.floor(((ts + 8 * HOUR) % DAY) / HOUR);
}
